package dev.cnfarm.worker.engine.sched;

/**
 * A diffusion sampler: the timesteps fed to the model, and how a step moves the sample from the
 * model's noise prediction. One instance samples one image (multistep schedulers remember earlier
 * outputs); make a new one per image.
 */
public interface Scheduler {

    String name();

    int steps();

    /** The timestep given to the model at step {@code i} (fractional for Euler). */
    double timestep(int i);

    /** The noise levels as sigmas, one per step plus the final one (for display and debugging). */
    double[] sigmas();

    /** The scale of the initial noise. */
    double initNoiseSigma();

    /** The model's input at step {@code i} (Euler divides by sqrt(sigma^2 + 1); others pass it through). */
    float[] scaleModelInput(float[] sample, int i);

    /** The sample after step {@code i}, from the model's epsilon prediction. */
    float[] step(float[] eps, int i, float[] sample, NoiseSource noise);
}
