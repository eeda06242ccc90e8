package dev.cnfarm.worker.engine.noise;

/**
 * The numbers PyTorch's CPU generator gives: {@code torch.manual_seed(seed)} followed by
 * {@code torch.randn(...)} calls, value for value, so that a seed from diffusers (with a CPU
 * generator) or ComfyUI makes the same starting noise here.
 *
 * <p>The engine is the 32-bit Mersenne Twister (MT19937) seeded with the seed's low 32 bits. A
 * float32 draw of at least 16 values first fills every value with a 24-bit uniform, then turns each
 * block of 16 into normals by Box-Muller in float arithmetic, pairing value j with value j + 8; when
 * the count is not a multiple of 16 the last 16 values are drawn afresh and turned again. Fewer than
 * 16 values take PyTorch's scalar path: 53-bit uniforms from two 32-bit draws, Box-Muller in double
 * precision with the second value kept for the next call.
 *
 * <p>Not thread-safe: one generator per image, used in order.
 */
public final class TorchCpuGenerator {
    private static final int N = 624;
    private static final int M = 397;
    private static final float TWO_PI_F = (float) (2 * Math.PI);

    private final int[] mt = new int[N];
    private int index;
    /** The cached second value of the scalar path (NaN: none). */
    private double nextDouble = Double.NaN;

    public TorchCpuGenerator(long seed) {
        mt[0] = (int) seed;
        for (int i = 1; i < N; i++) {
            int prev = mt[i - 1];
            mt[i] = 1812433253 * (prev ^ (prev >>> 30)) + i;
        }
        index = N;
    }

    /** The next 32 bits of MT19937 (as an unsigned value in a long). */
    long next32() {
        if (index >= N) {
            twist();
        }
        int y = mt[index++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9D2C5680;
        y ^= (y << 15) & 0xEFC60000;
        y ^= y >>> 18;
        return y & 0xFFFFFFFFL;
    }

    private void twist() {
        for (int i = 0; i < N; i++) {
            int y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7FFFFFFF);
            int v = mt[(i + M) % N] ^ (y >>> 1);
            if ((y & 1) != 0) {
                v ^= 0x9908B0DF;
            }
            mt[i] = v;
        }
        index = 0;
    }

    /** {@code torch.randn(count)} (any shape of that many values, in row-major order) as float32. */
    public float[] randn(int count) {
        float[] out = new float[count];
        if (count >= 16) {
            for (int i = 0; i < count; i++) {
                out[i] = uniformFloat();
            }
            for (int i = 0; i + 16 <= count; i += 16) {
                boxMuller16(out, i);
            }
            if (count % 16 != 0) {
                // the tail: the last 16 values again, fresh uniforms, transformed as a block
                int from = count - 16;
                for (int i = 0; i < 16; i++) {
                    out[from + i] = uniformFloat();
                }
                boxMuller16(out, from);
            }
        } else {
            for (int i = 0; i < count; i++) {
                out[i] = (float) normalDouble();
            }
        }
        return out;
    }

    private float uniformFloat() {
        return (next32() & 0xFFFFFF) * 0x1.0p-24f;
    }

    private static void boxMuller16(float[] d, int at) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1 - d[at + j];
            float u2 = d[at + j + 8];
            float radius = (float) Math.sqrt(-2 * (float) Math.log(u1));
            float theta = TWO_PI_F * u2;
            d[at + j] = radius * (float) Math.cos(theta);
            d[at + j + 8] = radius * (float) Math.sin(theta);
        }
    }

    private double normalDouble() {
        if (!Double.isNaN(nextDouble)) {
            double v = nextDouble;
            nextDouble = Double.NaN;
            return v;
        }
        double u1 = uniformDouble();
        double u2 = uniformDouble();
        double r = Math.sqrt(-2 * Math.log1p(-u2));
        double theta = 2 * Math.PI * u1;
        nextDouble = r * Math.sin(theta);
        return r * Math.cos(theta);
    }

    private double uniformDouble() {
        long hi = next32();
        long lo = next32();
        long bits = (hi << 32) | lo;
        return (bits & ((1L << 53) - 1)) * 0x1.0p-53;
    }
}
