package dev.cnfarm.worker.testing;

import static org.assertj.core.api.Assertions.assertThat;

/** Comparisons of model outputs for the worker's tests. */
public final class FloatArrays {
    private FloatArrays() {}

    /** The largest absolute difference between two arrays of the same length. */
    public static double maxAbsDiff(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }
}
