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
 * @param estimatedSecondsByDevice render time on one worker of each device that has rendered the model
 */
public record SubmitResult(String jobId, boolean created, long taskCount, double estimatedGpuSeconds, int imagesToUpload,
                           boolean textToImage, long submittedAtMs, java.util.Map<String, Double> estimatedSecondsByDevice) {

    public SubmitResult(String jobId, boolean created, long taskCount, double estimatedGpuSeconds, int imagesToUpload,
                        boolean textToImage) {
        this(jobId, created, taskCount, estimatedGpuSeconds, imagesToUpload, textToImage, 0, java.util.Map.of());
    }

    /** The same answer with the quote's figures by device. */
    public SubmitResult withEstimatesByDevice(java.util.Map<String, Double> byDevice) {
        return new SubmitResult(jobId, created, taskCount, estimatedGpuSeconds, imagesToUpload, textToImage, submittedAtMs, byDevice);
    }
}
