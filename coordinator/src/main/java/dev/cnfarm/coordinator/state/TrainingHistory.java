package dev.cnfarm.coordinator.state;

import dev.cnfarm.proto.v1.TrainingSample;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training task's loss curve and sample scores as this coordinator saw them, for the dashboard's
 * chart. Bounded: past {@link #MAX_POINTS} losses, every other point is dropped and only every
 * second step is kept from then on, so a million-step run costs the same as a short one. A trainer
 * that resumes from a checkpoint reports steps again from there; the curve is cut back to that step
 * and goes on, as the run itself does.
 */
final class TrainingHistory {
    static final int MAX_POINTS = 1000;
    static final int MAX_SAMPLES = 500;

    private final List<double[]> losses = new ArrayList<>();
    private final List<Map<String, Object>> samples = new ArrayList<>();
    private long stride = 1;

    void loss(long step, double loss) {
        cutBackTo(step);
        if (step % stride != 0) {
            return;
        }
        losses.add(new double[] {step, loss});
        if (losses.size() > MAX_POINTS) {
            stride *= 2;
            losses.removeIf(p -> (long) p[0] % stride != 0);
        }
    }

    void sample(long step, TrainingSample s) {
        samples.removeIf(m -> ((Number) m.get("step")).longValue() >= step);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", step);
        m.put("edge_f1", s.getEdgeF1());
        m.put("baseline_edge_f1", s.getBaselineEdgeF1());
        m.put("key", s.getKey());
        samples.add(m);
        if (samples.size() > MAX_SAMPLES) {
            samples.remove(0);
        }
    }

    /** A resumed run reports steps from its checkpoint again: what came after it is dropped. */
    private void cutBackTo(long step) {
        while (!losses.isEmpty() && losses.get(losses.size() - 1)[0] >= step) {
            losses.remove(losses.size() - 1);
        }
        samples.removeIf(m -> ((Number) m.get("step")).longValue() > step);
    }

    /** {@code {"loss": [[step, loss], ...], "samples": [{step, edge_f1, baseline_edge_f1, key}, ...]}} */
    Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("loss", List.copyOf(losses));
        out.put("samples", List.copyOf(samples));
        return out;
    }
}
