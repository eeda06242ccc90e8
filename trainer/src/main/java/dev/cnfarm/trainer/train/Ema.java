package dev.cnfarm.trainer.train;

import dev.cnfarm.trainer.torch.ParameterStore;
import dev.cnfarm.trainer.torch.Torch;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * An exponential moving average of some parameters (what is exported at the end of a run: it
 * samples better than the last step's weights). Each update moves the average by
 * {@code 1 - decay} towards the current weights; early on the decay is smaller
 * (min(decay, (1 + n) / (10 + n))), so the average forgets its random start quickly.
 */
public final class Ema implements AutoCloseable {
    private final double decay;
    private final Map<String, Tensor> shadow = new LinkedHashMap<>();
    private final Map<String, Tensor> live = new LinkedHashMap<>();
    private long updates;

    public Ema(ParameterStore store, List<String> components, double decay) {
        this.decay = decay;
        for (var spec : store.specs()) {
            if (components.contains(spec.component())) {
                Tensor p = store.tensor(spec.onnxName());
                Tensor s = p.detach().clone();
                s.retainReference();
                shadow.put(spec.onnxName(), s);
                live.put(spec.onnxName(), p);
            }
        }
    }

    public void update() {
        double d = Math.min(decay, (1.0 + updates) / (10.0 + updates));
        updates++;
        try (NoGradGuard g = new NoGradGuard()) {
            Scalar w = new Scalar(1 - d);
            for (Map.Entry<String, Tensor> e : shadow.entrySet()) {
                e.getValue().lerp_(live.get(e.getKey()).detach(), w);
            }
        }
    }

    public long updates() {
        return updates;
    }

    /** Restores the average and its update count from a checkpoint. */
    public void restore(Map<String, float[]> values, long updateCount) {
        try (NoGradGuard g = new NoGradGuard()) {
            for (Map.Entry<String, Tensor> e : shadow.entrySet()) {
                float[] v = values.get(e.getKey());
                if (v == null) {
                    throw new IllegalStateException("the checkpoint's average has no " + e.getKey());
                }
                e.getValue().copy_(Torch.floats(v, Torch.shape(e.getValue())));
            }
        }
        this.updates = updateCount;
    }

    public Map<String, float[]> values() {
        Map<String, float[]> out = new LinkedHashMap<>();
        shadow.forEach((k, t) -> out.put(k, Torch.toFloats(t)));
        return out;
    }

    public Map<String, long[]> shapes() {
        Map<String, long[]> out = new LinkedHashMap<>();
        shadow.forEach((k, t) -> out.put(k, Torch.shape(t)));
        return out;
    }

    @Override
    public void close() {
        shadow.values().forEach(Tensor::releaseReference);
        shadow.clear();
    }
}
