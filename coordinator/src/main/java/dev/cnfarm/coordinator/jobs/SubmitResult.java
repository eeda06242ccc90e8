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
                           boolean textToImage, long submittedAtMs, java.util.Map<String, Double> estimatedSecondsByDevice,
                           java.util.List<StageQuote> stages) {

    /** One stage of a staged job (base, hires, tiles, blend): its tasks and their estimated render time on one worker. */
    public record StageQuote(String name, long taskCount, double estimatedGpuSeconds) {}

    public SubmitResult(String jobId, boolean created, long taskCount, double estimatedGpuSeconds, int imagesToUpload,
                        boolean textToImage) {
        this(jobId, created, taskCount, estimatedGpuSeconds, imagesToUpload, textToImage, 0, java.util.Map.of(), java.util.List.of());
    }

    public SubmitResult(String jobId, boolean created, long taskCount, double estimatedGpuSeconds, int imagesToUpload,
                        boolean textToImage, long submittedAtMs, java.util.Map<String, Double> estimatedSecondsByDevice) {
        this(jobId, created, taskCount, estimatedGpuSeconds, imagesToUpload, textToImage, submittedAtMs, estimatedSecondsByDevice,
                java.util.List.of());
    }

    /** The same answer with the quote's figures by device. */
    public SubmitResult withEstimatesByDevice(java.util.Map<String, Double> byDevice) {
        return new SubmitResult(jobId, created, taskCount, estimatedGpuSeconds, imagesToUpload, textToImage, submittedAtMs, byDevice, stages);
    }

    /** The same answer with the quote of each stage. */
    public SubmitResult withStages(java.util.List<StageQuote> perStage) {
        return new SubmitResult(jobId, created, taskCount, estimatedGpuSeconds, imagesToUpload, textToImage, submittedAtMs,
                estimatedSecondsByDevice, java.util.List.copyOf(perStage));
    }
}
