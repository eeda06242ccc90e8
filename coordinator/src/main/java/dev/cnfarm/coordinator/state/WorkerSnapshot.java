package dev.cnfarm.coordinator.state;

import java.util.List;

/**
 * A worker as its last heartbeat described it.
 *
 * @param healthy false when the worker stopped or declared itself unhealthy, or when no heartbeat came for several intervals
 * @param health  the worker's own words on why it is unhealthy or draining; empty when fine
 * @param gpuMemoryTotalBytes 0 on the CPU provider or when the worker cannot read it
 * @param metricsUrl where the worker serves its Prometheus metrics; empty when turned off
 * @param pool       the worker pool it takes tasks from
 * @param modelLayouts model id to its folder layout and graph contract, for the SD models it serves
 * @param maxBatch   the most tasks it takes at once and computes together (worker.max-batch)
 * @param maxPixels  the largest image, width x height, it renders (worker.max-pixels); 0 when its heartbeat does not say
 */
public record WorkerSnapshot(String workerId, String host, String state, boolean healthy, String executionProvider,
                             String deviceName, long memoryUsedBytes, long memoryTotalBytes, List<String> loadedModels,
                             String currentTaskId, long tasksSucceeded, long tasksFailed, double imagesPerSecond,
                             long lastSeenMs, long startedAtMs, long controlMapsMade, long controlMapCacheHits,
                             int consecutiveFailures, String health, long gpuMemoryUsedBytes,
                             long gpuMemoryTotalBytes, String metricsUrl, String pool, java.util.Map<String, String> modelLayouts,
                             int maxBatch, long maxPixels) {

    /** The same worker with another current task (blank hides a task of another tenant). */
    public WorkerSnapshot withCurrentTaskId(String taskId) {
        return new WorkerSnapshot(workerId, host, state, healthy, executionProvider, deviceName, memoryUsedBytes, memoryTotalBytes,
                loadedModels, taskId, tasksSucceeded, tasksFailed, imagesPerSecond, lastSeenMs, startedAtMs, controlMapsMade,
                controlMapCacheHits, consecutiveFailures, health, gpuMemoryUsedBytes, gpuMemoryTotalBytes, metricsUrl, pool,
                modelLayouts, maxBatch, maxPixels);
    }
}
