package dev.cnfarm.worker.engine.sched;

/** Standard normal noise for the ancestral and stochastic steps, fixed by the task's seed and the step. */
@FunctionalInterface
public interface NoiseSource {
    float[] gaussian(int count, int step);
}
