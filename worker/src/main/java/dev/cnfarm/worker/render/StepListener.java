package dev.cnfarm.worker.render;

/** Told after each denoising step; may ask the renderer to stop (cancellation, drain). */
@FunctionalInterface
public interface StepListener {
    void onStep(int step, int totalSteps);
}
