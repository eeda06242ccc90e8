package dev.cnfarm.worker.render;

import java.util.Random;

/**
 * Initial noise from a task's seed. {@link java.util.Random} is used because its algorithm (a
 * 48-bit linear congruential generator, with {@code nextGaussian} by the polar method) is fixed by
 * the Java SE specification, so the same seed gives the same noise on every JVM and every worker.
 */
public final class SeededNoise {
    private SeededNoise() {}

    /** {@code count} standard normal values for {@code seed}. */
    public static float[] gaussian(long seed, int count) {
        Random r = new Random(seed);
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = (float) r.nextGaussian();
        }
        return out;
    }
}
