package dev.cnfarm.coordinator.api;

import java.util.List;

/**
 * The body of {@code POST /api/v1/jobs}, as the user wrote it (snake_case JSON). Boxed types so
 * that a missing field can be told from a zero; {@link JobValidator} applies defaults and limits.
 * The job is the matrix prompts x control_images x seeds.
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
        String scheduler,
        String model,
        Integer priority) {}
