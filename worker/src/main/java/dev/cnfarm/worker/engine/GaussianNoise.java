package dev.cnfarm.worker.engine;

import dev.cnfarm.worker.engine.noise.NoiseKind;
import java.util.Random;

/**
 * The farm's documented noise generator, so that a task's seed fully determines its image:
 *
 * <ul>
 *   <li>initial latent: {@code new java.util.Random(seed)}, {@code nextGaussian()} for each value in
 *       [4, h, w] (NCHW) order, times the scheduler's initial sigma;</li>
 *   <li>noise of step i (ancestral samplers, DDIM with eta): {@code new java.util.Random(seed ^
 *       (0x9E3779B97F4A7C15L * (i + 1)))}, {@code nextGaussian()} in the same order.</li>
 * </ul>
 * {@code java.util.Random}'s algorithm (a 48-bit linear congruential generator, Gaussians by the
 * polar method) is fixed by the Java SE specification, so every JVM gives the same numbers.
 */
public final class GaussianNoise implements NoiseKind.ImageNoise {
    private static final long STEP_MIX = 0x9E3779B97F4A7C15L;

    private final long seed;

    public GaussianNoise(long seed) {
        this.seed = seed;
    }

    @Override
    public float[] initial(int count, double scale) {
        return fill(new Random(seed), count, scale);
    }

    @Override
    public float[] gaussian(int count, int step) {
        return fill(new Random(seed ^ (STEP_MIX * (step + 1))), count, 1);
    }

    private static float[] fill(Random r, int count, double scale) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) (r.nextGaussian() * scale);
        }
        return v;
    }
}
