package dev.cnfarm.worker.engine.noise;

/**
 * The numbers PyTorch's CUDA generator gives for {@code torch.randn} on a GPU, made on the CPU the
 * way A1111's "NV" random source makes them: Philox4x32-10 with the counter {@code (offset, 0, i, 0)}
 * for the i-th value of a draw and the 64-bit seed as its key, the first two output words turned
 * into one normal value by Box-Muller ({@code sqrt(-2 ln u) sin(2 pi v)}, u and v at the midpoints
 * of 2^-32 steps); each draw advances the offset by one. GPUs compute the last step in float32, so
 * values agree with a GPU's to about 1e-6, not always to the bit.
 */
public final class PhiloxGenerator {
    private static final int M0 = 0xD2511F53;
    private static final int M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9;
    private static final int W1 = 0xBB67AE85;
    /** 2^-32 and 2^-32 * 2 pi, as float32 constants (what A1111 computes with). */
    private static final double STEP = (float) 2.3283064e-10;
    private static final double STEP_2PI = (float) (2.3283064e-10 * 6.2831855);

    private final long seed;
    private int offset;

    public PhiloxGenerator(long seed) {
        this.seed = seed;
    }

    /** Philox4x32 with 10 rounds: the four output words for a counter and key. */
    static int[] philox(int c0, int c1, int c2, int c3, int k0, int k1) {
        for (int round = 0; round < 10; round++) {
            if (round > 0) {
                k0 += W0;
                k1 += W1;
            }
            long p0 = (c0 & 0xFFFFFFFFL) * (M0 & 0xFFFFFFFFL);
            long p1 = (c2 & 0xFFFFFFFFL) * (M1 & 0xFFFFFFFFL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n1 = (int) p1;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            int n3 = (int) p0;
            c0 = n0;
            c1 = n1;
            c2 = n2;
            c3 = n3;
        }
        return new int[] {c0, c1, c2, c3};
    }

    /** The next draw of {@code count} standard normal values. */
    public float[] randn(int count) {
        float[] out = new float[count];
        int k0 = (int) seed;
        int k1 = (int) (seed >>> 32);
        for (int i = 0; i < count; i++) {
            int[] w = philox(offset, 0, i, 0, k0, k1);
            double u = (w[0] & 0xFFFFFFFFL) * STEP + STEP / 2;
            double v = (w[1] & 0xFFFFFFFFL) * STEP_2PI + STEP_2PI / 2;
            out[i] = (float) (Math.sqrt(-2 * Math.log(u)) * Math.sin(v));
        }
        offset++;
        return out;
    }
}
