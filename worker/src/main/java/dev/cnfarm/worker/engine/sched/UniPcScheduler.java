package dev.cnfarm.worker.engine.sched;

/**
 * UniPC (Zhao et al. 2023), order 2 with the B(h) = e^h - 1 variant ("bh2"), data prediction and
 * the UniC corrector after every step but the first, as diffusers' UniPCMultistepScheduler with
 * SD1.5 defaults ("linspace", final sigma zero, lower order at the end).
 */
final class UniPcScheduler implements Scheduler {
    private static final int ORDER = 2;

    private final double[] timesteps;
    private final double[] sigmas;
    private float[] x0Previous;      // model output (x0) of step i-1
    private float[] x0BeforePrevious; // of step i-2
    private float[] lastSample;
    private int lowerOrderNums;
    private int lastOrder;

    UniPcScheduler(NoiseSchedule schedule, SchedulerConfig c, int steps) {
        int train = c.numTrainTimesteps();
        String spacing = c.spacingOr("linspace");
        this.timesteps = switch (spacing) {
            case "linspace" -> Spacing.linspaceDropLast(train, steps);
            case "leading" -> Spacing.leading(train, steps, c.stepsOffset());
            case "trailing" -> Spacing.trailing(train, steps);
            default -> throw new IllegalArgumentException("timestep_spacing '" + spacing + "' is not supported");
        };
        this.sigmas = new double[steps + 1];
        for (int i = 0; i < steps; i++) {
            sigmas[i] = schedule.sigmaAt(timesteps[i]);
        }
        sigmas[steps] = 0;
    }

    @Override
    public String name() {
        return "unipc";
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

    @Override
    public float[] step(float[] eps, int i, float[] x, NoiseSource noise) {
        double s = sigmas[i];
        float[] x0 = Vec.axpby(1 / DpmSolverScheduler.alpha(s), x, -s, eps);
        float[] sample = x;
        if (i > 0 && lastSample != null) {
            sample = correct(x0, sample, i, lastOrder);
        }
        x0BeforePrevious = x0Previous;
        x0Previous = x0;
        int order = Math.min(ORDER, timesteps.length - i);
        order = Math.min(order, lowerOrderNums + 1);
        lastOrder = order;
        lastSample = sample;
        float[] next = predict(sample, i, order);
        lowerOrderNums = Math.min(lowerOrderNums + 1, ORDER);
        return next;
    }

    /** UniP: from step i to i+1, with x0 of steps i (and i-1 for order 2). */
    private float[] predict(float[] x, int i, int order) {
        double s0 = sigmas[i];
        double st = sigmas[i + 1];
        double a0 = DpmSolverScheduler.alpha(s0);
        double at = DpmSolverScheduler.alpha(st);
        double h = DpmSolverScheduler.lambda(st) - DpmSolverScheduler.lambda(s0);
        double hPhi1 = Math.expm1(-h);
        double bh = Math.expm1(-h);
        double ratio = (st * at) / (s0 * a0);
        float[] m0 = x0Previous;
        if (order == 1) {
            return Vec.axpby(ratio, x, -at * hPhi1, m0);
        }
        double rk = (DpmSolverScheduler.lambda(sigmas[i - 1]) - DpmSolverScheduler.lambda(s0)) / h;
        // D1 = (m1 - m0) / rk with rho_p = 0.5: x_t = ratio x - at hPhi1 m0 - at B(h) 0.5 D1
        double c = -at * bh * 0.5 / rk;
        return Vec.combine(ratio, x, -at * hPhi1 - c, m0, c, x0BeforePrevious);
    }

    /** UniC: refines the sample at step i with the model output there, from the sample at step i-1. */
    private float[] correct(float[] modelT, float[] predicted, int i, int order) {
        double st = sigmas[i];
        double s0 = sigmas[i - 1];
        double a0 = DpmSolverScheduler.alpha(s0);
        double at = DpmSolverScheduler.alpha(st);
        double h = DpmSolverScheduler.lambda(st) - DpmSolverScheduler.lambda(s0);
        double hh = -h;
        double hPhi1 = Math.expm1(hh);
        double bh = Math.expm1(hh);
        double ratio = (st * at) / (s0 * a0);
        float[] m0 = x0Previous;
        // b_k = h_phi_k k! / B(h), h_phi_1 = expm1(hh)/hh - 1, h_phi_(k+1) = h_phi_k / hh - 1/(k+1)!
        double hPhiK = hPhi1 / hh - 1;
        double b1 = hPhiK / bh;
        hPhiK = hPhiK / hh - 1.0 / 2;
        double b2 = hPhiK * 2 / bh;
        float[] out = new float[predicted.length];
        if (order == 1) {
            double rho = 0.5;
            for (int k = 0; k < out.length; k++) {
                double d1t = modelT[k] - m0[k];
                out[k] = (float) (ratio * lastSample[k] - at * hPhi1 * m0[k] - at * bh * rho * d1t);
            }
            return out;
        }
        double rk = (DpmSolverScheduler.lambda(sigmas[i - 2]) - DpmSolverScheduler.lambda(s0)) / h;
        // solve [[1, 1], [rk, 1]] rho = [b1, b2]
        double det = 1 - rk;
        double rho0 = (b1 - b2) / det;
        double rho1 = (b2 - rk * b1) / det;
        float[] m1 = x0BeforePrevious;
        for (int k = 0; k < out.length; k++) {
            double d1 = (m1[k] - m0[k]) / rk;
            double d1t = modelT[k] - m0[k];
            out[k] = (float) (ratio * lastSample[k] - at * hPhi1 * m0[k] - at * bh * (rho0 * d1 + rho1 * d1t));
        }
        return out;
    }
}
