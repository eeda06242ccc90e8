package dev.cnfarm.trainer.train;

/** Told of a training run's progress, for progress bars and logs. */
public interface TrainingListener {
    /** A stage starts (or resumes at {@code fromStep}). */
    default void stageStarted(String stage, long fromStep, long totalSteps) {}

    /** After each optimisation step. */
    default void step(String stage, long step, long totalSteps, double loss, double stepsPerSecond) {}

    /** After each optimisation step, with the learning rate it used (by default: {@link #step(String, long, long, double, double)}). */
    default void step(String stage, long step, long totalSteps, double loss, double learningRate, double stepsPerSecond) {
        step(stage, step, totalSteps, loss, stepsPerSecond);
    }

    /** Samples were rendered from the weights of {@code grid.step()} (ControlNet training, at each sample interval). */
    default void sample(String stage, SampleGrid grid) {}

    /** A line worth logging (checkpoints written, measurements). */
    default void note(String message) {}

    TrainingListener NONE = new TrainingListener() {};
}
