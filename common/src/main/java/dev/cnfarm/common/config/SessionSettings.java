package dev.cnfarm.common.config;

/**
 * How the worker's ONNX Runtime sessions are set up.
 *
 * @param intraOpThreads    threads per run, 0 for ONNX Runtime's default (one per core)
 * @param graphOptimization all, extended, basic or none
 * @param cpuMemoryArena    keep freed CPU memory for the next run
 */
public record SessionSettings(int intraOpThreads, String graphOptimization, boolean cpuMemoryArena) {
    /** ONNX Runtime's defaults: every core, every optimisation, the arena on. */
    public static SessionSettings defaults() {
        return new SessionSettings(0, "all", true);
    }
}
