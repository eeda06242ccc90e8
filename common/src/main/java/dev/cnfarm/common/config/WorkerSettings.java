package dev.cnfarm.common.config;

import java.nio.file.Path;

/**
 * Worker identity, model cache, reporting and execution settings.
 *
 * @param executionProvider {@code cpu} or {@code cuda}
 * @param sessions          how ONNX Runtime sessions are set up
 * @param previewEverySteps 0 for no previews
 * @param maxConsecutiveFailures failures of the worker's own making in a row before it stops taking work
 * @param drainTimeoutMs    on shutdown, how long the task in hand may run on before it is given back
 * @param pool              the worker pool it takes tasks from
 * @param metricsHost       address of the metrics and health endpoints
 * @param metricsPort       their port: 0 any free one, -1 none
 * @param maxBatch          the most tasks it takes at once and computes together in one model batch
 * @param maxPixels         the largest image (width x height) it renders
 */
public record WorkerSettings(String workerId, Path modelDir, int heartbeatMs, int progressEverySteps, String executionProvider,
                             boolean requireCuda, int cudaDevice, SessionSettings sessions, int previewEverySteps, int promptCacheSize,
                             int maxConsecutiveFailures, int drainTimeoutMs, int pollMs,
                             String pool, String metricsHost, int metricsPort, java.util.List<Path> extraModels, int maxBatch,
                             long maxPixels) {}
