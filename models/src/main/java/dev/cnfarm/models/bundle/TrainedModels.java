package dev.cnfarm.models.bundle;

import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.weights.SafetensorsFile;
import dev.cnfarm.models.weights.SafetensorsWeights;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Trained models in their portable form, and the bundles built from them. A trained model is a
 * folder with {@code model.json} (the architecture: {@link ModelPreset#read}), one diffusers-named
 * safetensors file per component ({@code unet}, {@code text_encoder}, {@code vae}, and
 * {@code controlnet0}... when it has ControlNets, with {@code controlnets.json} naming what each was
 * trained for, such as {@code ["canny", "scribble"]}) and {@code tokenizer/} (vocab.json +
 * merges.txt): what {@code farm train} writes and what {@code farm models import} reads.
 *
 * <p>The farm ships one, {@code shapes} (trained by the project on its generated shapes data; the
 * folder {@code trained/shapes} of the repository, packaged into this module's jar). Workers build
 * its bundle into their model folder on first start and serve it beside {@code tiny}.
 */
public final class TrainedModels {
    public static final String SHAPES_ID = "shapes";
    public static final String MODEL_JSON = "model.json";
    /** The names of a trained model's ControlNets, in slot order (a JSON array). */
    public static final String CONTROLNETS_JSON = "controlnets.json";
    static final String RESOURCE_ROOT = "/dev/cnfarm/models/trained/";
    private static final List<String> COMPONENT_FILES = List.of(ModelGraphs.UNET, ModelGraphs.TEXT_ENCODER, ModelGraphs.VAE);
    private static final List<String> FILES = List.of(MODEL_JSON, "unet.safetensors", "text_encoder.safetensors", "vae.safetensors",
            "tokenizer/vocab.json", "tokenizer/merges.txt");

    private TrainedModels() {}

    /**
     * Builds a bundle (fp16 weights, float32 arithmetic) from a trained model folder.
     *
     * @param controlnets ControlNet files in the folder ({@code controlnet0.safetensors}, ...) to put in the controlled graph
     */
    public static ModelBundle build(Path folder, String id, int controlnets, Path out, String weightsDescription) {
        ModelPreset preset = ModelPreset.read(folder.resolve(MODEL_JSON));
        List<String> names = controlnetNames(folder);
        if (names != null && names.size() < controlnets) {
            throw new BundleException(folder.resolve(CONTROLNETS_JSON) + " names " + names.size() + " ControlNet(s); the bundle takes "
                    + controlnets);
        }
        Map<String, SafetensorsFile> files = new LinkedHashMap<>();
        try {
            for (String c : COMPONENT_FILES) {
                files.put(c, SafetensorsFile.open(folder.resolve(c + ".safetensors")));
            }
            for (int i = 0; i < controlnets; i++) {
                files.put(ModelGraphs.controlnetComponent(i), SafetensorsFile.open(folder.resolve(ModelGraphs.controlnetComponent(i) + ".safetensors")));
            }
            try (SafetensorsWeights weights = new SafetensorsWeights(files)) {
                List<dev.cnfarm.models.onnx.ParamSpec> params = new java.util.ArrayList<>();
                BundleBuilder.graphs(preset, controlnets, Storage.FP16, BundleBuilder.referenceSize(preset)).values()
                        .forEach(g -> params.addAll(g.params()));
                weights.bind(params);
                return BundleBuilder.build(out, new BundleBuilder.Options(id, preset, controlnets, Storage.FP16, false,
                        folder.resolve("tokenizer")), weights, weightsDescription, (done, total, graph) -> { },
                        names == null ? null : names.subList(0, controlnets));
            }
        } finally {
            files.values().forEach(SafetensorsFile::close);
        }
    }

    /** The ControlNets a trained model folder has, by name in slot order (empty without {@link #CONTROLNETS_JSON}). */
    public static List<String> controlnetNames(Path folder) {
        Path f = folder.resolve(CONTROLNETS_JSON);
        if (!Files.isRegularFile(f)) {
            return null;
        }
        try {
            return List.of(dev.cnfarm.common.json.Json.mapper().readValue(f.toFile(), String[].class));
        } catch (IOException e) {
            throw new BundleException(f + " is not a JSON array of ControlNet names: " + e.getMessage());
        }
    }

    /** The ControlNets shipped with the shapes model, by name in slot order (empty when this build ships none). */
    public static List<String> shapesControlNets() {
        if (!hasShapes() || TrainedModels.class.getResource(RESOURCE_ROOT + SHAPES_ID + "/" + CONTROLNETS_JSON) == null) {
            return List.of();
        }
        try {
            return List.of(dev.cnfarm.common.json.Json.mapper().readValue(resource(SHAPES_ID, CONTROLNETS_JSON), String[].class));
        } catch (IOException e) {
            throw new BundleException("the shipped " + CONTROLNETS_JSON + " of " + SHAPES_ID + " is not a JSON array: " + e.getMessage());
        }
    }

    /** True when this build of the farm carries the trained shapes model. */
    public static boolean hasShapes() {
        return TrainedModels.class.getResource(RESOURCE_ROOT + SHAPES_ID + "/" + MODEL_JSON) != null;
    }

    /**
     * The shapes model's bundle in {@code modelsRoot}, built from the shipped weights the first time
     * (and again when the shipped weights change); empty when this build carries none.
     */
    public static Optional<ModelBundle> shapes(Path modelsRoot) {
        if (!hasShapes()) {
            return Optional.empty();
        }
        Map<String, byte[]> content = new LinkedHashMap<>();
        for (String f : FILES) {
            content.put(f, resource(SHAPES_ID, f));
        }
        // the ControlNets trained for it (farm train controlnet), when this build ships them
        int controlnets = 0;
        if (TrainedModels.class.getResource(RESOURCE_ROOT + SHAPES_ID + "/" + CONTROLNETS_JSON) != null) {
            content.put(CONTROLNETS_JSON, resource(SHAPES_ID, CONTROLNETS_JSON));
            try {
                controlnets = dev.cnfarm.common.json.Json.mapper().readValue(content.get(CONTROLNETS_JSON), String[].class).length;
            } catch (IOException e) {
                throw new BundleException("the shipped " + CONTROLNETS_JSON + " of " + SHAPES_ID + " is not a JSON array: " + e.getMessage());
            }
            for (int i = 0; i < controlnets; i++) {
                String f = ModelGraphs.controlnetComponent(i) + ".safetensors";
                content.put(f, resource(SHAPES_ID, f));
            }
        }
        String description = "trained shapes model (the farm's trained/shapes), weights sha256 " + Sha256.of(concat(content)).substring(0, 16)
                + "; " + GeneratedBundles.GENERATOR;
        Path dir = modelsRoot.resolve(SHAPES_ID);
        if (Files.exists(dir)) {
            try {
                ModelBundle b = ModelBundle.open(dir);
                if (description.equals(b.manifest().weights())) {
                    return Optional.of(b);
                }
            } catch (BundleException e) {
                // damaged: rebuilt below
            }
            ModelBundle.discard(dir);
        }
        Path src = ModelBundle.stagingDir(modelsRoot.resolve(SHAPES_ID + "-weights"));
        try {
            for (Map.Entry<String, byte[]> e : content.entrySet()) {
                Path p = src.resolve(e.getKey());
                Files.createDirectories(p.getParent());
                Files.write(p, e.getValue());
            }
            return Optional.of(build(src, SHAPES_ID, controlnets, dir, description));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unpack the shapes model into " + src + ": " + e.getMessage(), e);
        } finally {
            ModelBundle.deleteQuietly(src);
        }
    }

    private static byte[] resource(String model, String file) {
        try (InputStream in = TrainedModels.class.getResourceAsStream(RESOURCE_ROOT + model + "/" + file)) {
            if (in == null) {
                throw new BundleException("the trained model " + model + " lacks " + file + " in this build");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] concat(Map<String, byte[]> content) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        content.values().forEach(out::writeBytes);
        return out.toByteArray();
    }
}
