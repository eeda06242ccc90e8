package dev.cnfarm.worker.engine.sched;

/**
 * DDIM (Song et al. 2020) as diffusers implements it: "leading" spacing by default, the previous
 * timestep t - T/n, final alpha-cumprod acp[0] (SD1.5 sets set_alpha_to_one false), and eta
 * mixing in fresh noise (eta 0 is deterministic).
 */
final class DdimScheduler implements Scheduler {
    private final NoiseSchedule schedule;
    private final double[] timesteps;
    private final int ratio;
    private final double eta;

    DdimScheduler(NoiseSchedule schedule, SchedulerConfig c, int steps, double eta) {
        this.schedule = schedule;
        int train = c.numTrainTimesteps();
        String spacing = c.spacingOr("leading");
        this.timesteps = switch (spacing) {
            case "leading" -> Spacing.leading(train, steps, c.stepsOffset());
            case "trailing" -> Spacing.trailing(train, steps);
            case "linspace" -> Spacing.round(Spacing.linspaceDescending(train, steps));
            default -> throw new IllegalArgumentException("timestep_spacing '" + spacing + "' is not supported");
        };
        this.ratio = train / steps;
        this.eta = eta;
    }

    @Override
    public String name() {
        return "ddim";
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
        double[] s = new double[timesteps.length + 1];
        for (int i = 0; i < timesteps.length; i++) {
            s[i] = schedule.sigma((int) timesteps[i]);
        }
        s[timesteps.length] = 0;
        return s;
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
        int t = (int) timesteps[i];
        int prev = t - ratio;
        double aT = schedule.alphaCumprod(t);
        double aPrev = prev >= 0 ? schedule.alphaCumprod(prev) : schedule.alphaCumprod(0);
        double bT = 1 - aT;
        double variance = (1 - aPrev) / (1 - aT) * (1 - aT / aPrev);
        double std = eta * Math.sqrt(variance);
        // x0 = (x - sqrt(b_t) eps) / sqrt(a_t); x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev - std^2) eps
        double dir = Math.sqrt(Math.max(0, 1 - aPrev - std * std));
        double cx = Math.sqrt(aPrev) / Math.sqrt(aT);
        double ce = dir - Math.sqrt(aPrev) * Math.sqrt(bT) / Math.sqrt(aT);
        float[] out = Vec.axpby(cx, x, ce, eps);
        if (std > 0) {
            float[] z = noise.gaussian(x.length, i);
            for (int k = 0; k < out.length; k++) {
                out[k] += (float) (std * z[k]);
            }
        }
        return out;
    }
}
