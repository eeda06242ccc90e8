package dev.cnfarm.worker.render;

/** Told after each denoising step, with a small preview image on the steps it asks for. */
public interface StepListener {
    /** @param previewPng a PNG of the predicted image, or null */
    void onStep(int step, int totalSteps, byte[] previewPng);

    /** Whether the renderer should attach a preview to step {@code step} (1-based). */
    default boolean wantsPreview(int step, int totalSteps) {
        return false;
    }

    /**
     * A training task's step (a trainer's runner calls this instead of {@link #onStep}); throws, as
     * onStep does, to stop the run: cancelled, given back, or fenced.
     */
    default void onTrainingStep(int step, int totalSteps, double loss, double learningRate, double stepsPerSecond) {
        onStep(step, totalSteps, null);
    }

    /**
     * A training task's sample grid (a PNG: control map, sample and data set image of held-out rows)
     * with its score and where it is stored; sent on whatever the progress interval.
     */
    default void onTrainingSample(int step, int totalSteps, byte[] gridPng, dev.cnfarm.proto.v1.TrainingSample sample) {
    }

    /**
     * Told once the image is made, before anything is stored; throws to stop the attempt there
     * (a task whose lock was lost during the render must leave no object behind).
     */
    default void beforeStore() {
    }

    StepListener NONE = (step, total, preview) -> { };
}
