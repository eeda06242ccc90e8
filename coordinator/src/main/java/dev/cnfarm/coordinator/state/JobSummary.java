package dev.cnfarm.coordinator.state;

/**
 * A job's state and counts, without its tasks.
 *
 * @param progress    fraction of all denoising steps done, 0..1 (finished tasks count fully)
 * @param etaSeconds  estimate of the time left from the rate so far, or -1 when unknown
 */
public record JobSummary(String jobId, String name, String tenant, String state, int taskCount, int queued, int running,
                         int succeeded, int failed, double progress, long submittedAtMs, long startedAtMs,
                         long finishedAtMs, double imagesPerSecond, long etaSeconds) {}
