package dev.cnfarm.models.weights;

import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.onnx.ParamSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Weights with LoRA files merged in: {@code W + weight * (alpha / rank) * up . down} for every layer
 * a LoRA file adapts. Two layouts are read: kohya's ({@code lora_unet_<module>} and
 * {@code lora_te_<module>}, the module's dots as underscores, with {@code .lora_up.weight},
 * {@code .lora_down.weight} and {@code .alpha}) and diffusers/PEFT's ({@code unet.<module>} or
 * {@code text_encoder.<module>} with {@code .lora_A.weight} and {@code .lora_B.weight}, the scale
 * 1). Linear layers and 1x1 and 3x3 convolutions are merged (a convolution's down matrix carries
 * the kernel); a key that names no layer of the model is listed, and the merge refused.
 */
public final class LoraWeights implements WeightSource {
    /** One LoRA file and its weight. */
    public record Lora(Path file, double weight) {}

    /** A layer's update: {@code scale * up [out, rank] . down [rank, in * kernel]}. */
    private record Delta(float[] up, float[] down, int rank, double scale) {}

    private final WeightSource base;
    private final Map<String, List<Delta>> deltas = new LinkedHashMap<>();
    private final List<String> notes = new ArrayList<>();

    /**
     * @param params the model's parameters (every component's): the layers LoRA keys may name
     */
    public LoraWeights(WeightSource base, List<ParamSpec> params, List<Lora> loras) {
        this.base = base;
        Map<String, ParamSpec> modules = new LinkedHashMap<>();
        for (ParamSpec p : params) {
            if (!p.key().endsWith(".weight") || !(p.component().equals(ModelGraphs.UNET) || p.component().equals(ModelGraphs.TEXT_ENCODER))) {
                continue;
            }
            String module = p.key().substring(0, p.key().length() - ".weight".length());
            boolean unet = p.component().equals(ModelGraphs.UNET);
            modules.put((unet ? "lora_unet_" : "lora_te_") + module.replace('.', '_'), p);
            modules.put((unet ? "unet." : "text_encoder.") + module, p);
        }
        List<String> unknown = new ArrayList<>();
        List<String> misShaped = new ArrayList<>();
        for (Lora l : loras) {
            try (SafetensorsFile f = SafetensorsFile.open(l.file())) {
                int layers = 0;
                for (String key : f.tensors().keySet()) {
                    String[] kind = kind(key);
                    if (kind == null) {
                        if (!key.endsWith(".alpha")) {
                            unknown.add(l.file().getFileName() + ": '" + key + "'");
                        }
                        continue;
                    }
                    if (!kind[1].equals("down")) {
                        continue; // each layer is read once, from its down matrix
                    }
                    String module = kind[0];
                    ParamSpec p = modules.get(module);
                    if (p == null) {
                        unknown.add(l.file().getFileName() + ": '" + key + "' (no layer " + module + " in this model)");
                        continue;
                    }
                    String upKey = key.replace("lora_down", "lora_up").replace("lora_A", "lora_B");
                    SafetensorsFile.TensorInfo down = f.tensors().get(key);
                    SafetensorsFile.TensorInfo up = f.tensors().get(upKey);
                    if (up == null) {
                        unknown.add(l.file().getFileName() + ": '" + key + "' without its '" + upKey + "'");
                        continue;
                    }
                    int rank = (int) down.shape()[0];
                    long inKernel = down.elements() / rank;
                    if (up.shape()[0] != p.shape()[0] || up.elements() != p.shape()[0] * rank || p.count() != p.shape()[0] * inKernel) {
                        misShaped.add(l.file().getFileName() + ": " + module + " up " + java.util.Arrays.toString(up.shape()) + ", down "
                                + java.util.Arrays.toString(down.shape()) + " do not fit " + p.key() + " " + java.util.Arrays.toString(p.shape()));
                        continue;
                    }
                    String alphaKey = module + ".alpha";
                    double alpha = f.tensors().containsKey(alphaKey) ? f.readFloats(alphaKey)[0] : rank;
                    deltas.computeIfAbsent(p.component() + "." + p.key(), k -> new ArrayList<>())
                            .add(new Delta(f.readFloats(upKey), f.readFloats(key), rank, l.weight() * alpha / rank));
                    layers++;
                }
                notes.add(l.file().getFileName() + ": " + layers + " layers at weight " + l.weight());
            }
        }
        if (!unknown.isEmpty() || !misShaped.isEmpty()) {
            StringBuilder msg = new StringBuilder("the LoRA files do not fit the model");
            SafetensorsWeights.section(msg, "keys that name no layer of the model (another architecture, or a LoRA layout this reader "
                    + "does not know)", unknown);
            SafetensorsWeights.section(msg, "layers of another shape", misShaped);
            throw new SafetensorsException(msg.toString());
        }
    }

    /** [module, "down" or "up"] for a LoRA matrix key, null for other keys. */
    private static String[] kind(String key) {
        for (String[] suffix : new String[][] {{".lora_down.weight", "down"}, {".lora_up.weight", "up"}, {".lora_A.weight", "down"},
                {".lora_B.weight", "up"}}) {
            if (key.endsWith(suffix[0])) {
                return new String[] {key.substring(0, key.length() - suffix[0].length()), suffix[1]};
            }
        }
        return null;
    }

    /** The ONNX names ({@code component.key}) of the parameters the LoRA files change: the only ones a merge rewrites. */
    public java.util.Set<String> adapted() {
        return java.util.Collections.unmodifiableSet(deltas.keySet());
    }

    /** One line per LoRA file: how many layers it adapts, at which weight. */
    public List<String> notes() {
        return List.copyOf(notes);
    }

    @Override
    public float[] values(ParamSpec spec) {
        float[] w = base.values(spec);
        List<Delta> ds = deltas.get(spec.component() + "." + spec.key());
        if (ds == null) {
            return w;
        }
        w = w.clone(); // the base's array may be shared
        int out = (int) spec.shape()[0];
        int inKernel = w.length / out;
        for (Delta d : ds) {
            if (d.scale() == 0) {
                continue; // weight 0: the base's weights, to the bit
            }
            for (int o = 0; o < out; o++) {
                for (int r = 0; r < d.rank(); r++) {
                    float u = (float) (d.scale() * d.up()[o * d.rank() + r]);
                    if (u == 0) {
                        continue;
                    }
                    int row = r * inKernel;
                    int at = o * inKernel;
                    for (int j = 0; j < inKernel; j++) {
                        w[at + j] += u * d.down()[row + j];
                    }
                }
            }
        }
        return w;
    }
}
