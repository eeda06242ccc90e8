package dev.cnfarm.worker.engine.sched;

/**
 * Euler (Karras et al. 2022, Algorithm 2 without churn) and Euler ancestral, in sigma space as
 * diffusers' EulerDiscrete and EulerAncestralDiscrete: "linspace" fractional timesteps, sigmas
 * interpolated linearly, the model fed x / sqrt(sigma^2 + 1).
 */
final class EulerScheduler implements Scheduler {
    private final double[] timesteps;
    private final double[] sigmas;
    private final boolean ancestral;
    private final double initSigma;

    EulerScheduler(NoiseSchedule schedule, SchedulerConfig c, int steps, boolean ancestral) {
        int train = c.numTrainTimesteps();
        String spacing = c.spacingOr("linspace");
        this.timesteps = switch (spacing) {
            case "linspace" -> Spacing.linspaceDescending(train, steps);
            case "leading" -> Spacing.leading(train, steps, c.stepsOffset());
            case "trailing" -> Spacing.trailing(train, steps);
            default -> throw new IllegalArgumentException("timestep_spacing '" + spacing + "' is not supported");
        };
        this.sigmas = new double[steps + 1];
        double max = 0;
        for (int i = 0; i < steps; i++) {
            sigmas[i] = schedule.sigmaAt(timesteps[i]);
            max = Math.max(max, sigmas[i]);
        }
        this.ancestral = ancestral;
        this.initSigma = spacing.equals("leading") ? Math.sqrt(max * max + 1) : max;
    }

    @Override
    public String name() {
        return ancestral ? "euler_a" : "euler";
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
    public boolean varianceExploding() {
        return true;
    }

    @Override
    public double initNoiseSigma() {
        return initSigma;
    }

    @Override
    public float[] scaleModelInput(float[] sample, int i) {
        return Vec.scale(sample, 1 / Math.sqrt(sigmas[i] * sigmas[i] + 1));
    }

    @Override
    public float[] step(float[] eps, int i, float[] x, NoiseSource noise) {
        double sigma = sigmas[i];
        double next = sigmas[i + 1];
        if (!ancestral) {
            // x0 = x - sigma eps; d = (x - x0) / sigma = eps; x_next = x + d (sigma_next - sigma)
            return Vec.axpby(1, x, next - sigma, eps);
        }
        double up = Math.sqrt(next * next * (sigma * sigma - next * next) / (sigma * sigma));
        double down = Math.sqrt(next * next - up * up);
        float[] out = Vec.axpby(1, x, down - sigma, eps);
        if (up > 0) {
            float[] z = noise.gaussian(x.length, i);
            for (int k = 0; k < out.length; k++) {
                out[k] += (float) (up * z[k]);
            }
        }
        return out;
    }
}
