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

    /**
     * Whether the sample lives in sigma space (x = x0 + sigma * noise, Euler) rather than the
     * variance-preserving space (x = alpha * x0 + sigma_vp * noise, the others).
     */
    default boolean varianceExploding() {
        return false;
    }

    /**
     * A clean latent noised to the level the sample has at step {@code i}; at {@code i == steps()}
     * the clean latent itself. How img2img starts at a later step, and how inpainting puts the
     * known region back after each step.
     */
    default float[] addNoise(float[] x0, float[] noise, int i) {
        double s = i >= steps() ? 0 : sigmas()[i];
        double scale = varianceExploding() ? 1 : 1 / Math.sqrt(s * s + 1);
        float[] out = new float[x0.length];
        for (int k = 0; k < out.length; k++) {
            out[k] = (float) (scale * (x0[k] + s * noise[k]));
        }
        return out;
    }
}
