package dev.cnfarm.common.config;

import java.nio.file.Path;

/**
 * Worker identity, model cache, reporting and execution settings.
 *
 * @param executionProvider {@code cpu} or {@code cuda}
 * @param intraOpThreads    0 for ONNX Runtime's default
 * @param previewEverySteps 0 for no previews
 */
public record WorkerSettings(String workerId, Path modelDir, int heartbeatMs, int progressEverySteps, String executionProvider,
                             boolean requireCuda, int cudaDevice, int intraOpThreads, int previewEverySteps, int promptCacheSize) {}
