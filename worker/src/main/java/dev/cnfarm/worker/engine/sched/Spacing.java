package dev.cnfarm.worker.engine.sched;

/** Timestep spacings as diffusers computes them (numpy's round is half-to-even: Math.rint). */
final class Spacing {
    private Spacing() {}

    /** linspace(0, T-1, count) reversed, unrounded. */
    static double[] linspaceDescending(int trainSteps, int count) {
        double[] t = new double[count];
        for (int i = 0; i < count; i++) {
            double v = count == 1 ? 0 : (double) (trainSteps - 1) * i / (count - 1);
            t[count - 1 - i] = v;
        }
        return t;
    }

    /** "leading": (arange(n) * (T // n)) reversed, plus the offset. */
    static double[] leading(int trainSteps, int n, int offset) {
        int ratio = trainSteps / n;
        double[] t = new double[n];
        for (int i = 0; i < n; i++) {
            t[n - 1 - i] = (double) i * ratio + offset;
        }
        return t;
    }

    /** "trailing": round(arange(T, 0, -T/n)) - 1. */
    static double[] trailing(int trainSteps, int n) {
        double[] t = new double[n];
        double ratio = (double) trainSteps / n;
        for (int i = 0; i < n; i++) {
            t[i] = Math.rint(trainSteps - i * ratio) - 1;
        }
        return t;
    }

    static double[] round(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = Math.rint(v[i]);
        }
        return r;
    }

    /** The first {@code n} of {@code count + 1} linspace points, descending and rounded (DPM++ and UniPC). */
    static double[] linspaceDropLast(int trainSteps, int n) {
        double[] all = linspaceDescending(trainSteps, n + 1);
        double[] t = new double[n];
        System.arraycopy(round(all), 0, t, 0, n);
        return t;
    }
}
