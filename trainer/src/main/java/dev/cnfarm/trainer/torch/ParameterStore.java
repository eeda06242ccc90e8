package dev.cnfarm.trainer.torch;

import dev.cnfarm.models.onnx.Init;
import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.weights.WeightSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * The parameters of models computed by {@link TorchNn}, by their ONNX name
 * ({@code component.diffusers_key}). A parameter is created the first time the architecture asks
 * for it, with values from the store's {@link WeightSource} (seeded random with PyTorch's scales, or
 * trained weights), so the store ends up holding exactly what the architecture description names,
 * as the ONNX backend does.
 *
 * <p>Components can be locked (no gradient: the ControlNet paper's locked base) or trainable. The
 * store owns the tensors' native memory: close it when done.
 */
public final class ParameterStore implements AutoCloseable {
    private final WeightSource initial;
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();
    private final Map<String, ParamSpec> specs = new LinkedHashMap<>();
    private final Set<String> locked = new TreeSet<>();

    public ParameterStore(WeightSource initial) {
        this.initial = initial;
    }

    /** The parameter, created on first use; later uses must ask for the same shape. */
    Tensor get(String component, String key, long[] shape, Init init, long fanIn) {
        String name = component + "." + key;
        Tensor t = tensors.get(name);
        if (t != null) {
            ParamSpec known = specs.get(name);
            if (!Arrays.equals(known.shape(), shape)) {
                throw new IllegalStateException(name + " is used with shape " + Arrays.toString(shape) + " and " + Arrays.toString(known.shape()));
            }
            return t;
        }
        ParamSpec spec = new ParamSpec(name, component, key, shape.clone(), init, fanIn);
        float[] values = initial.values(spec);
        t = Torch.floats(values, shape);
        // parameters outlive the pointer scopes of training steps
        t.retainReference();
        t.requires_grad_(!locked.contains(component));
        tensors.put(name, t);
        specs.put(name, spec);
        return t;
    }

    /** Stops gradients into a component's parameters (now and for parameters created later). */
    public void lock(String component) {
        locked.add(component);
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (specs.get(e.getKey()).component().equals(component)) {
                e.getValue().requires_grad_(false);
            }
        }
    }

    public void unlock(String component) {
        locked.remove(component);
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (specs.get(e.getKey()).component().equals(component)) {
                e.getValue().requires_grad_(true);
            }
        }
    }

    /** The specs of every parameter created so far, in creation order. */
    public List<ParamSpec> specs() {
        return List.copyOf(specs.values());
    }

    /** The specs of one component's parameters. */
    public List<ParamSpec> specs(String component) {
        return specs.values().stream().filter(s -> s.component().equals(component)).toList();
    }

    public Tensor tensor(String onnxName) {
        Tensor t = tensors.get(onnxName);
        if (t == null) {
            throw new IllegalArgumentException("no parameter " + onnxName);
        }
        return t;
    }

    /** The parameters of these components, for an optimiser. */
    public TensorVector parameters(String... components) {
        List<String> wanted = List.of(components);
        List<Tensor> out = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (wanted.contains(specs.get(e.getKey()).component())) {
                out.add(e.getValue());
            }
        }
        return new TensorVector(out.toArray(new Tensor[0]));
    }

    /** A parameter's values as float32, in PyTorch layout. */
    public float[] values(String onnxName) {
        return Torch.toFloats(tensor(onnxName));
    }

    /** Overwrites a parameter's values in place (keeps it the same tensor, so optimisers keep tracking it). */
    public void set(String onnxName, float[] values) {
        Tensor t = tensor(onnxName);
        try (NoGradGuard g = new NoGradGuard()) {
            t.copy_(Torch.floats(values, Torch.shape(t)));
        }
    }

    /** The current weights as a {@link WeightSource}, to build ONNX graphs or write files from. */
    public WeightSource asWeightSource() {
        return spec -> values(spec.onnxName());
    }

    public Map<String, Tensor> all() {
        return Collections.unmodifiableMap(tensors);
    }

    public long count(String component) {
        return specs(component).stream().mapToLong(ParamSpec::count).sum();
    }

    @Override
    public void close() {
        for (Tensor t : tensors.values()) {
            t.releaseReference();
        }
        tensors.clear();
        specs.clear();
    }
}
