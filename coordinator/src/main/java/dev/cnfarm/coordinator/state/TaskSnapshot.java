package dev.cnfarm.coordinator.state;

/** One task of a job, as the API and websockets show it. */
public record TaskSnapshot(int index, String taskId, String state, int attempt, String worker, int step, int totalSteps,
                           String outputKey, String outputSha256, long outputSizeBytes, long renderMs, String error) {}
