package dev.cnfarm.coordinator.state;

/**
 * One task of a job, as the API and websockets show it.
 *
 * @param attempt the scheduler's release number (1 for the first attempt)
 * @param error   the last failure's cause and message (also while it waits to retry)
 * @param loss    a training task's latest (smoothed) loss; 0 for render tasks
 * @param learningRate the rate a training task's latest step used; 0 for render tasks
 * @param stepsPerSecond a training task's optimiser steps a second
 * @param edgeF1 a training task's latest sample grid: how closely the samples follow their maps (0 before the first)
 * @param baselineEdgeF1 the same rows rendered by the base model alone
 * @param sampleKey the latest sample grid's object key (null before the first)
 */
public record TaskSnapshot(int index, String taskId, String state, int attempt, String worker, int step, int totalSteps,
                           String outputKey, String outputSha256, long outputSizeBytes, long renderMs, String error,
                           double loss, double learningRate, double stepsPerSecond, double edgeF1, double baselineEdgeF1,
                           String sampleKey) {}
