package dev.cnfarm.coordinator.state;

import dev.cnfarm.proto.v1.JobRecord;

/**
 * Learns the render cost per step and megapixel from finished tasks, for the quote a submit
 * returns. Until a result has been seen it uses a starting figure for the placeholder model on a
 * CPU worker; the figure is replaced by the average of what the workers actually report.
 */
final class RenderCostModel {
    /** Starting guess, seconds per denoising step per megapixel. */
    static final double INITIAL_SECONDS_PER_STEP_MEGAPIXEL = 0.05;

    private double sum;
    private long count;

    static void observe(RenderCostModel m, JobRecord job, long renderMs) {
        double mp = job.getSpec().getWidth() * (double) job.getSpec().getHeight() / 1e6;
        int steps = Math.max(1, job.getSpec().getSteps());
        if (mp > 0) {
            m.add(renderMs / 1000.0 / steps / mp);
        }
    }

    private synchronized void add(double secondsPerStepMp) {
        sum += secondsPerStepMp;
        count++;
    }

    synchronized double estimateSeconds(long tasks, int steps, int width, int height) {
        double perStepMp = count == 0 ? INITIAL_SECONDS_PER_STEP_MEGAPIXEL : sum / count;
        return tasks * steps * (width * (double) height / 1e6) * perStepMp;
    }
}
