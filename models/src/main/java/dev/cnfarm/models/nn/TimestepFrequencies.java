package dev.cnfarm.models.nn;

/** The frequencies of the sinusoidal timestep embedding, shared by every backend so they agree to the bit. */
public final class TimestepFrequencies {
    private TimestepFrequencies() {}

    /** exp(-ln(10000) i / (half - shift)) for i in 0..half-1, half = dim / 2. */
    public static float[] of(int dim, float shift) {
        int half = dim / 2;
        float[] freqs = new float[half];
        for (int i = 0; i < half; i++) {
            freqs[i] = (float) Math.exp(-Math.log(10000) * i / (half - shift));
        }
        return freqs;
    }
}
