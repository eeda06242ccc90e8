package dev.cnfarm.worker.engine.sched;

/**
 * The training noise schedule of SD1.5 (diffusers' "scaled_linear" betas): betas from
 * sqrt(beta_start) to sqrt(beta_end) squared over 1000 steps, their cumulative alpha products, and
 * the matching sigmas sqrt((1 - acp) / acp). Computed in double precision.
 */
public final class NoiseSchedule {
    private final double[] alphasCumprod;
    private final double[] sigmas;
    private final double[] logSigmas;

    public NoiseSchedule(SchedulerConfig c) {
        int n = c.numTrainTimesteps();
        double[] betas = new double[n];
        if (c.betaSchedule().equals("scaled_linear")) {
            double a = Math.sqrt(c.betaStart());
            double b = Math.sqrt(c.betaEnd());
            for (int i = 0; i < n; i++) {
                double s = a + (b - a) * i / (n - 1);
                betas[i] = s * s;
            }
        } else if (c.betaSchedule().equals("linear")) {
            for (int i = 0; i < n; i++) {
                betas[i] = c.betaStart() + (c.betaEnd() - c.betaStart()) * i / (n - 1);
            }
        } else {
            throw new IllegalArgumentException("beta_schedule '" + c.betaSchedule() + "' is not supported (use scaled_linear or linear)");
        }
        alphasCumprod = new double[n];
        sigmas = new double[n];
        logSigmas = new double[n];
        double acp = 1;
        for (int i = 0; i < n; i++) {
            acp *= 1 - betas[i];
            alphasCumprod[i] = acp;
            sigmas[i] = Math.sqrt((1 - acp) / acp);
            logSigmas[i] = Math.log(sigmas[i]);
        }
    }

    public int trainSteps() {
        return alphasCumprod.length;
    }

    public double alphaCumprod(int t) {
        return alphasCumprod[t];
    }

    public double sigma(int t) {
        return sigmas[t];
    }

    /** sigma at a fractional timestep, interpolated linearly in sigma (diffusers' "linear" interpolation). */
    public double sigmaAt(double t) {
        if (t <= 0) {
            return sigmas[0];
        }
        int last = sigmas.length - 1;
        if (t >= last) {
            return sigmas[last];
        }
        int lo = (int) Math.floor(t);
        double w = t - lo;
        return sigmas[lo] * (1 - w) + sigmas[lo + 1] * w;
    }

    /** The (fractional) timestep of a sigma, interpolated in log-sigma (diffusers' _sigma_to_t). */
    public double timestepOf(double sigma) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        int low = 0;
        for (int i = 0; i < logSigmas.length; i++) {
            if (logSigmas[i] <= logSigma) {
                low = i;
            }
        }
        low = Math.min(low, logSigmas.length - 2);
        double w = (logSigmas[low] - logSigma) / (logSigmas[low] - logSigmas[low + 1]);
        w = Math.max(0, Math.min(1, w));
        return (1 - w) * low + w * (low + 1);
    }
}
