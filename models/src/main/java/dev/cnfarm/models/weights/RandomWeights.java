package dev.cnfarm.models.weights;

import dev.cnfarm.models.onnx.ParamSpec;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Seeded random weights with PyTorch's default scales. Each parameter's values depend only on the
 * seed and the parameter's diffusers key, not on the component or the order of building: so a
 * ControlNet's copy of the encoder gets exactly the UNet encoder's weights (the paper's starting
 * point), and the same bundle comes out byte for byte on every machine.
 */
public final class RandomWeights implements WeightSource {
    private final long seed;
    private final boolean zeroConvsAtZero;

    /**
     * @param zeroConvsAtZero true (the paper's initialisation) keeps ControlNet's zero convolutions at
     *                        zero; false gives them random values, so ControlNet visibly changes the output
     */
    public RandomWeights(long seed, boolean zeroConvsAtZero) {
        this.seed = seed;
        this.zeroConvsAtZero = zeroConvsAtZero;
    }

    @Override
    public float[] values(ParamSpec spec) {
        long count = spec.count();
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(spec.key() + " has too many values for one array: " + count);
        }
        float[] v = new float[(int) count];
        SplittableRandom rnd = new SplittableRandom(seed ^ keyHash(spec.key()));
        double bound = 1 / Math.sqrt(Math.max(1, spec.fanIn()));
        switch (spec.init()) {
            case WEIGHT, BIAS -> fillUniform(v, rnd, bound);
            case ONES -> java.util.Arrays.fill(v, 1f);
            case ZEROS -> { }
            case ZERO_CONV -> {
                if (!zeroConvsAtZero) {
                    fillUniform(v, rnd, bound);
                }
            }
            case EMBEDDING -> {
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (gaussian(rnd) * 0.02);
                }
            }
            default -> throw new IllegalStateException("no initialisation for " + spec.init());
        }
        return v;
    }

    private static void fillUniform(float[] v, SplittableRandom rnd, double bound) {
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        }
    }

    /** Box-Muller from the same stream, so the values are fixed by the seed alone. */
    private static double gaussian(SplittableRandom rnd) {
        double u1 = rnd.nextDouble();
        double u2 = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** 64-bit FNV-1a of the key: stable across JVMs, unlike String.hashCode's 32 bits. */
    static long keyHash(String key) {
        long h = 0xcbf29ce484222325L;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }
}
