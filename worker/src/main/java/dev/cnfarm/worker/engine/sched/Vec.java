package dev.cnfarm.worker.engine.sched;

/** Element-wise arithmetic on latents (float arrays), with double coefficients. */
final class Vec {
    private Vec() {}

    /** a x + b y */
    static float[] axpby(double a, float[] x, double b, float[] y) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) (a * x[i] + b * y[i]);
        }
        return out;
    }

    /** a x + b y + c z */
    static float[] combine(double a, float[] x, double b, float[] y, double c, float[] z) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) (a * x[i] + b * y[i] + c * z[i]);
        }
        return out;
    }

    static float[] scale(float[] x, double a) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) (a * x[i]);
        }
        return out;
    }
}
