package dev.cnfarm.coordinator.state;

import dev.cnfarm.proto.v1.JobRecord;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Learns the render cost per step and megapixel from finished tasks, for the quote a submit
 * returns, separately for each model and for each kind of worker device that rendered it: a small
 * model's tasks must not be quoted at a large one's cost (the demo's sixteen small images were once
 * quoted at SD1.5's), and a GPU's seconds are not a CPU's. The quote's headline figure is the
 * model's mean over every device that rendered it; the figures by device say what each costs. A
 * model not seen yet is quoted at the average of all models seen; before any result, at a starting
 * figure for a small model on a CPU worker.
 */
final class RenderCostModel {
    /** Starting guess, seconds per denoising step per megapixel. */
    static final double INITIAL_SECONDS_PER_STEP_MEGAPIXEL = 0.05;
    /** The device of a task whose worker's heartbeat was not seen. */
    static final String UNKNOWN_DEVICE = "unknown";

    /** model, then device: {sum of seconds per step-megapixel, count}. */
    private final Map<String, Map<String, double[]>> byModel = new HashMap<>();
    private double sum;
    private long count;

    static void observe(RenderCostModel m, JobRecord job, String device, long renderMs) {
        double mp = job.getSpec().getWidth() * (double) job.getSpec().getHeight() / 1e6;
        int steps = Math.max(1, job.getSpec().getSteps());
        if (mp > 0) {
            m.add(job.getSpec().getModel(), device, renderMs / 1000.0 / steps / mp);
        }
    }

    synchronized void add(String model, String device, double secondsPerStepMp) {
        double[] s = byModel.computeIfAbsent(model, k -> new HashMap<>())
                .computeIfAbsent(device == null || device.isBlank() ? UNKNOWN_DEVICE : device, k -> new double[2]);
        s[0] += secondsPerStepMp;
        s[1]++;
        sum += secondsPerStepMp;
        count++;
    }

    synchronized double estimateSeconds(String model, long tasks, int steps, int width, int height) {
        Map<String, double[]> devices = byModel.get(model);
        double perStepMp;
        if (devices != null) {
            double s = 0;
            double n = 0;
            for (double[] d : devices.values()) {
                s += d[0];
                n += d[1];
            }
            perStepMp = s / n;
        } else {
            perStepMp = count > 0 ? sum / count : INITIAL_SECONDS_PER_STEP_MEGAPIXEL;
        }
        return tasks * steps * (width * (double) height / 1e6) * perStepMp;
    }

    /** What the job would take on one worker of each device that has rendered this model. */
    synchronized Map<String, Double> estimateSecondsByDevice(String model, long tasks, int steps, int width, int height) {
        Map<String, Double> out = new TreeMap<>();
        byModel.getOrDefault(model, Map.of()).forEach((device, d) ->
                out.put(device, tasks * steps * (width * (double) height / 1e6) * d[0] / d[1]));
        return out;
    }
}
