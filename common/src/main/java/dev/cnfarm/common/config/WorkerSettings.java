package dev.cnfarm.common.config;

import java.nio.file.Path;

/** Worker identity, model cache and reporting settings. */
public record WorkerSettings(String workerId, Path modelDir, int heartbeatMs, int progressEverySteps) {}
