package dev.cnfarm.coordinator.state;

import dev.cnfarm.proto.v1.JobRecord;
import java.util.HashMap;
import java.util.Map;

/**
 * Learns the render cost per step and megapixel from finished tasks, for the quote a submit
 * returns, separately for each model: a small model's tasks must not be quoted at a large one's
 * cost (the demo's sixteen small images were once quoted at SD1.5's). A model not seen yet is
 * quoted at the average of all models seen; before any result, at a starting figure for a small
 * model on a CPU worker.
 */
final class RenderCostModel {
    /** Starting guess, seconds per denoising step per megapixel. */
    static final double INITIAL_SECONDS_PER_STEP_MEGAPIXEL = 0.05;

    private final Map<String, double[]> byModel = new HashMap<>();
    private double sum;
    private long count;

    static void observe(RenderCostModel m, JobRecord job, long renderMs) {
        double mp = job.getSpec().getWidth() * (double) job.getSpec().getHeight() / 1e6;
        int steps = Math.max(1, job.getSpec().getSteps());
        if (mp > 0) {
            m.add(job.getSpec().getModel(), renderMs / 1000.0 / steps / mp);
        }
    }

    synchronized void add(String model, double secondsPerStepMp) {
        double[] s = byModel.computeIfAbsent(model, k -> new double[2]);
        s[0] += secondsPerStepMp;
        s[1]++;
        sum += secondsPerStepMp;
        count++;
    }

    synchronized double estimateSeconds(String model, long tasks, int steps, int width, int height) {
        double[] s = byModel.get(model);
        double perStepMp = s != null ? s[0] / s[1] : count > 0 ? sum / count : INITIAL_SECONDS_PER_STEP_MEGAPIXEL;
        return tasks * steps * (width * (double) height / 1e6) * perStepMp;
    }
}
