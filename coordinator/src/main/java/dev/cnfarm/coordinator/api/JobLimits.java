package dev.cnfarm.coordinator.api;

/**
 * The ranges a job's fields must fall in; the validator's messages quote them.
 *
 * @param maxUploadBytes the largest input object a job may use ({@code coordinator.max-upload-bytes}):
 *                       a presigned PUT cannot bound the body it accepts, so the size is checked
 *                       again when a job names the object
 */
public record JobLimits(int maxTasks, int maxSteps, int minSide, int maxSide, int maxPromptChars, int maxPrompts,
                        int maxControlImages, int maxSeeds, long maxUploadBytes) {

    public static final long DEFAULT_MAX_UPLOAD_BYTES = 50L * 1024 * 1024;

    public static JobLimits defaults(int maxTasks) {
        return new JobLimits(maxTasks, 150, 64, 2048, 2000, 10_000, 10_000, 10_000, DEFAULT_MAX_UPLOAD_BYTES);
    }

    public JobLimits withMaxUploadBytes(long bytes) {
        return new JobLimits(maxTasks, maxSteps, minSide, maxSide, maxPromptChars, maxPrompts, maxControlImages, maxSeeds, bytes);
    }
}
