package dev.cnfarm.models.weights;

import dev.cnfarm.models.onnx.ParamSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Trained weights from diffusers-format {@code .safetensors} files, bound to a model's parameters
 * by name: one file per component ({@code unet}, {@code controlnet0}, {@code text_encoder},
 * {@code vae}). {@link #bind} checks the whole match before anything is built and refuses missing,
 * extra or mis-shaped tensors with their names.
 */
public final class SafetensorsWeights implements WeightSource, AutoCloseable {
    /** Buffers that some exporters save and that are not parameters. */
    private static final Set<String> IGNORED_KEYS = Set.of("text_model.embeddings.position_ids");

    private final Map<String, SafetensorsFile> files;

    /** @param files component name to its opened file */
    public SafetensorsWeights(Map<String, SafetensorsFile> files) {
        this.files = new HashMap<>(files);
    }

    /**
     * Checks that the files hold exactly the parameters of these components, with the same shapes.
     * Components without a file are left to {@code fallback} (they keep random weights).
     *
     * @return the components that are bound to a file
     */
    public Set<String> bind(List<ParamSpec> params) {
        Map<String, List<ParamSpec>> byComponent = params.stream().collect(Collectors.groupingBy(ParamSpec::component));
        List<String> missing = new ArrayList<>();
        List<String> misShaped = new ArrayList<>();
        List<String> extra = new ArrayList<>();
        List<String> other = new ArrayList<>();
        for (Map.Entry<String, SafetensorsFile> e : files.entrySet()) {
            List<ParamSpec> wanted = byComponent.get(e.getKey());
            String file = String.valueOf(e.getValue().path().getFileName());
            if (wanted == null) {
                other.add("weights were given for " + e.getKey() + ", which this model does not have");
                continue;
            }
            Map<String, SafetensorsFile.TensorInfo> have = e.getValue().tensors();
            Set<String> used = new HashSet<>();
            for (ParamSpec p : wanted) {
                SafetensorsFile.TensorInfo t = have.get(p.key());
                if (t == null) {
                    missing.add(e.getKey() + ": '" + p.key() + "' " + Arrays.toString(p.shape()) + " is missing from " + file);
                } else if (!Arrays.equals(t.shape(), p.shape())) {
                    misShaped.add(e.getKey() + ": '" + p.key() + "' has shape " + Arrays.toString(t.shape())
                            + ", the model needs " + Arrays.toString(p.shape()));
                } else if (!Set.of("F32", "F16", "BF16", "F64").contains(t.dtype())) {
                    other.add(e.getKey() + ": '" + p.key() + "' is " + t.dtype() + ", not a float type");
                }
                used.add(p.key());
            }
            for (String k : have.keySet()) {
                if (!used.contains(k) && !IGNORED_KEYS.contains(k)) {
                    extra.add(e.getKey() + ": '" + k + "' in " + file + " is not a parameter of this model");
                }
            }
        }
        int problems = missing.size() + misShaped.size() + extra.size() + other.size();
        if (problems > 0) {
            StringBuilder msg = new StringBuilder("the weights do not fit the model (" + problems + " problem" + (problems == 1 ? "" : "s") + ")");
            section(msg, "missing tensors", missing);
            section(msg, "tensors of another shape", misShaped);
            section(msg, "tensors the model does not have (a different architecture, or another key naming?)", extra);
            section(msg, "other problems", other);
            throw new SafetensorsException(msg.toString());
        }
        return files.keySet();
    }

    /** Appends a titled list of problems, the first few of them, to an error message (shared by the weight binders). */
    static void section(StringBuilder msg, String title, List<String> lines) {
        if (lines.isEmpty()) {
            return;
        }
        int shown = Math.min(lines.size(), 8);
        msg.append("\n").append(lines.size()).append(' ').append(title).append(':');
        for (String l : lines.subList(0, shown)) {
            msg.append("\n  ").append(l);
        }
        if (lines.size() > shown) {
            msg.append("\n  ... and ").append(lines.size() - shown).append(" more");
        }
    }

    /** True when a file was given for this component. */
    public boolean covers(String component) {
        return files.containsKey(component);
    }

    @Override
    public float[] values(ParamSpec spec) {
        SafetensorsFile f = files.get(spec.component());
        if (f == null) {
            throw new SafetensorsException("no weights file for component " + spec.component());
        }
        return f.readFloats(spec.key());
    }

    /** These weights where a file covers the component, {@code fallback} elsewhere. */
    public WeightSource orElse(WeightSource fallback) {
        return spec -> covers(spec.component()) ? values(spec) : fallback.values(spec);
    }

    @Override
    public void close() {
        files.values().forEach(SafetensorsFile::close);
    }
}
