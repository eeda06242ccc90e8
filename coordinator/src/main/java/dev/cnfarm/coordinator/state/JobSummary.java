package dev.cnfarm.coordinator.state;

/**
 * A job's state and counts, without its tasks.
 *
 * @param queued      tasks not started yet (held back, released, or waiting to retry)
 * @param progress    fraction of all denoising steps done, 0..1 (ended tasks count fully)
 * @param etaSeconds  estimate of the time left from the rate so far, or -1 when unknown
 * @param pool        the worker pool that runs its tasks
 * @param mode        {@code controlnet}, {@code text_to_image} when no image of the job has a control image, or
 *                    {@code train_controlnet} for a ControlNet training job
 * @param model       the model the job renders with
 */
public record JobSummary(String jobId, String name, String tenant, String state, int priority, int taskCount, int queued,
                         int running, int succeeded, int failed, int cancelled, double progress, long submittedAtMs,
                         long startedAtMs, long finishedAtMs, double imagesPerSecond, long etaSeconds, String pool,
                         String mode, String model) {}
