package dev.cnfarm.coordinator.state;

/**
 * One task of a job, as the API and websockets show it.
 *
 * @param attempt the scheduler's release number (1 for the first attempt)
 * @param error   the last failure's cause and message (also while it waits to retry)
 * @param loss    a training task's latest (smoothed) loss; 0 for render tasks
 * @param learningRate the rate a training task's latest step used; 0 for render tasks
 */
public record TaskSnapshot(int index, String taskId, String state, int attempt, String worker, int step, int totalSteps,
                           String outputKey, String outputSha256, long outputSizeBytes, long renderMs, String error,
                           double loss, double learningRate) {}
