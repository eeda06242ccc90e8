package dev.cnfarm.worker.engine.sched;

/**
 * DPM-Solver++(2M) (Lu et al. 2022), midpoint second order, as diffusers' DPMSolverMultistep with
 * SD1.5 defaults: "linspace" spacing, optionally Karras sigmas (rho 7), final sigma zero with a
 * first-order last step. Works in variance-preserving space: the model input is not scaled.
 */
final class DpmSolverScheduler implements Scheduler {
    private final double[] timesteps;
    private final double[] sigmas;
    private final boolean karras;
    private float[] previousX0;

    DpmSolverScheduler(NoiseSchedule schedule, SchedulerConfig c, int steps, boolean karras) {
        int train = c.numTrainTimesteps();
        this.karras = karras;
        this.sigmas = new double[steps + 1];
        if (karras) {
            double sMin = schedule.sigma(0);
            double sMax = schedule.sigma(train - 1);
            double rho = 7;
            double minInv = Math.pow(sMin, 1 / rho);
            double maxInv = Math.pow(sMax, 1 / rho);
            this.timesteps = new double[steps];
            for (int i = 0; i < steps; i++) {
                double ramp = steps == 1 ? 0 : (double) i / (steps - 1);
                sigmas[i] = Math.pow(maxInv + ramp * (minInv - maxInv), rho);
                timesteps[i] = Math.rint(schedule.timestepOf(sigmas[i]));
            }
        } else {
            String spacing = c.spacingOr("linspace");
            this.timesteps = switch (spacing) {
                case "linspace" -> Spacing.linspaceDropLast(train, steps);
                case "leading" -> Spacing.leading(train, steps, c.stepsOffset());
                case "trailing" -> Spacing.trailing(train, steps);
                default -> throw new IllegalArgumentException("timestep_spacing '" + spacing + "' is not supported");
            };
            for (int i = 0; i < steps; i++) {
                sigmas[i] = schedule.sigmaAt(timesteps[i]);
            }
        }
        sigmas[steps] = 0;
    }

    @Override
    public String name() {
        return karras ? "dpmpp_2m_karras" : "dpmpp_2m";
    }

    @Override
    public int steps() {
        return timesteps.length;
    }

    @Override
    public double timestep(int i) {
        return timesteps[i];
    }

    @Override
    public double[] sigmas() {
        return sigmas.clone();
    }

    @Override
    public double initNoiseSigma() {
        return 1;
    }

    @Override
    public float[] scaleModelInput(float[] sample, int i) {
        return sample;
    }

    /** alpha_t and sigma_t of the VP form for a sigma of the VE form. */
    static double alpha(double sigma) {
        return 1 / Math.sqrt(sigma * sigma + 1);
    }

    static double lambda(double sigma) {
        // log(alpha) - log(sigma_vp) = -log(sigma); +infinity at sigma 0
        return sigma == 0 ? Double.POSITIVE_INFINITY : -Math.log(sigma);
    }

    @Override
    public float[] step(float[] eps, int i, float[] x, NoiseSource noise) {
        double s0 = sigmas[i];
        double st = sigmas[i + 1];
        double a0 = alpha(s0);
        double at = alpha(st);
        // the data prediction: x0 = (x - sigma_vp eps) / alpha, sigma_vp = sigma alpha
        float[] x0 = Vec.axpby(1 / a0, x, -s0, eps);
        boolean last = i == timesteps.length - 1;
        double h = lambda(st) - lambda(s0);
        double expm = Math.exp(-h) - 1; // -1 when the next sigma is zero
        double sigmaRatio = (st * at) / (s0 * a0);
        float[] out;
        if (previousX0 == null || last) {
            out = Vec.axpby(sigmaRatio, x, -at * expm, x0);
        } else {
            double s1 = sigmas[i - 1];
            double h0 = lambda(s0) - lambda(s1);
            double r0 = h0 / h;
            // D0 = m0, D1 = (m0 - m1) / r0; x_t = ratio x - at (e^-h - 1) D0 - 0.5 at (e^-h - 1) D1
            double c1 = -at * expm * (1 + 0.5 / r0);
            double c2 = at * expm * 0.5 / r0;
            out = Vec.combine(sigmaRatio, x, c1, x0, c2, previousX0);
        }
        previousX0 = x0;
        return out;
    }
}
