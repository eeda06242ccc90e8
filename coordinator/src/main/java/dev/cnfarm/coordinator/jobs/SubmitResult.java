package dev.cnfarm.coordinator.jobs;

/**
 * The answer to a submit.
 *
 * @param created            false when an earlier submit with the same idempotency key made the job
 * @param estimatedGpuSeconds render time the job should take on one worker, from the costs seen so far
 * @param imagesToUpload      for a dry run: control images the job names that are not uploaded yet
 * @param textToImage         no image of the job has a control image: the plain UNet renders them all
 * @param submittedAtMs       when this submit made the job's record (0 when it did not make one): tells a
 *                            record this coordinator sent from the same body sent through another
 */
public record SubmitResult(String jobId, boolean created, long taskCount, double estimatedGpuSeconds, int imagesToUpload,
                           boolean textToImage, long submittedAtMs) {

    public SubmitResult(String jobId, boolean created, long taskCount, double estimatedGpuSeconds, int imagesToUpload,
                        boolean textToImage) {
        this(jobId, created, taskCount, estimatedGpuSeconds, imagesToUpload, textToImage, 0);
    }
}
