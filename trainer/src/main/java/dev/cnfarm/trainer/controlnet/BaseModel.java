package dev.cnfarm.trainer.controlnet;

import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.TrainedModels;
import dev.cnfarm.models.weights.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A trained base model read for fine-tuning: its architecture, every weight as float32 under its
 * graph name ({@code unet.conv_in.weight}, ...), and the folder (for its tokenizer and to copy its
 * files into a model that adds ControlNets).
 */
public record BaseModel(Path folder, ModelPreset preset, Map<String, float[]> weights) {
    static final List<String> COMPONENTS = List.of(ModelGraphs.UNET, ModelGraphs.TEXT_ENCODER, ModelGraphs.VAE);

    public static BaseModel read(Path folder) {
        Path json = folder.resolve(TrainedModels.MODEL_JSON);
        if (!Files.isRegularFile(json)) {
            throw new IllegalArgumentException(folder + " is not a trained model folder: it has no " + TrainedModels.MODEL_JSON
                    + " (a trained model is what farm train base or farm models export writes)");
        }
        ModelPreset preset = ModelPreset.read(json);
        Map<String, float[]> weights = new LinkedHashMap<>();
        for (String c : COMPONENTS) {
            Path file = folder.resolve(c + ".safetensors");
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException(folder + " lacks " + file.getFileName());
            }
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                for (String key : f.tensors().keySet()) {
                    weights.put(c + "." + key, f.readFloats(key));
                }
            }
        }
        return new BaseModel(folder, preset, weights);
    }

    public Path tokenizer() {
        return folder.resolve("tokenizer");
    }

    /** The weights of one component, by graph name. */
    public Map<String, float[]> component(String component) {
        Map<String, float[]> out = new LinkedHashMap<>();
        weights.forEach((k, v) -> {
            if (k.startsWith(component + ".")) {
                out.put(k, v);
            }
        });
        return out;
    }
}
