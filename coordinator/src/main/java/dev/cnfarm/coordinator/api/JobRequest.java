package dev.cnfarm.coordinator.api;

import java.util.List;

/**
 * The body of {@code POST /api/v1/jobs}, as the user wrote it (snake_case JSON). Boxed types so
 * that a missing field can be told from a zero; {@link JobValidator} applies defaults and limits.
 * The job is the matrix prompts x control_images x seeds; the control options apply to the
 * control image of each cell, and {@code additional_controlnets} add more ControlNets with one
 * image each for the whole job. {@code pool} names the workers that may run it (worker.pool);
 * {@code batch_size} caps how many of its images a worker computes together in one model batch.
 * A job with {@code train_controlnet} trains a ControlNet instead of rendering (its fields are a
 * training job's: base, dataset, condition, steps, ...; see {@code farm train controlnet}).
 */
public record JobRequest(
        String name,
        List<String> prompts,
        String negativePrompt,
        List<String> controlImages,
        List<Long> seeds,
        Integer steps,
        Integer width,
        Integer height,
        Float guidanceScale,
        Float controlScale,
        Float controlStart,
        Float controlEnd,
        String controlMode,
        Boolean guessMode,
        String scheduler,
        Float eta,
        String model,
        Integer priority,
        List<ControlNetRequest> additionalControlnets,
        String preprocessor,
        java.util.Map<String, Object> preprocessorParams,
        String resizeMode,
        String controlnet,
        List<RowRequest> rows,
        String webhookUrl,
        String pool,
        Integer batchSize,
        com.fasterxml.jackson.databind.JsonNode trainControlnet,
        String noise,
        List<LoraRequest> loras,
        List<String> initImages,
        Float strength,
        List<String> maskImages,
        Integer maskBlur,
        HiresRequest hires,
        UpscaleRequest upscale) {

    /** Tiled upscale: each image enlarged {@code scale} times, cut into tiles rendered as tasks of their own, then blended. */
    public record UpscaleRequest(Float scale, Integer tile, Integer overlap, Float strength, Integer steps) {}

    /** Hires fix: a second pass per image at {@code scale} times the size, img2img at {@code strength} from the upscaled base image. */
    public record HiresRequest(Float scale, Integer steps, Float strength, String upscaler) {}

    /** A LoRA to merge into the model: the uploaded safetensors file's key, the name the PNG records, the weight (default 1). */
    public record LoraRequest(String name, String file, Float weight) {}

    /** One image of a manifest job; missing fields take the job's values (seed: drawn at random). */
    public record RowRequest(String prompt, String negativePrompt, String controlImage, Long seed, Integer steps,
                             Float guidanceScale, Float controlScale, String initImage, String maskImage) {}

    /** An extra ControlNet: its image (an uploaded key) and options; missing options take the defaults. */
    public record ControlNetRequest(String image, Float scale, Float start, Float end, String mode, String preprocessor,
                                    java.util.Map<String, Object> preprocessorParams, String resizeMode, String controlnet) {}
}
