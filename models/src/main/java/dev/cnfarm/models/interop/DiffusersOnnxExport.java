package dev.cnfarm.models.interop;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.onnx.proto.Onnx.ModelProto;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes one of the farm's bundles in the diffusers/optimum ONNX folder layout, so other tools
 * (diffusers' OnnxStableDiffusionPipeline, optimum, OnnxStack, sd4j) can run it: text encoder with
 * {@code input_ids} to {@code last_hidden_state} and {@code pooler_output}, UNet with
 * {@code sample}, {@code timestep}, {@code encoder_hidden_states} to {@code out_sample}, VAE
 * decoder {@code latent_sample} to {@code sample}, VAE encoder {@code sample} to
 * {@code latent_sample}; tokenizer files; a scheduler config with SD1.5's training schedule; and
 * {@code model_index.json}. The timestep's and the token ids' types, and float16 inputs and outputs,
 * are options, since exports in the wild differ in exactly these; the graphs convert at their
 * edges and compute as the bundle does.
 */
public final class DiffusersOnnxExport {
    private DiffusersOnnxExport() {}

    /**
     * @param ioType float32, or float16 for graphs whose float inputs and outputs are half precision
     */
    public record Options(TensorType timestepType, Contracts.TimestepShape timestepShape, TensorType idsType, TensorType ioType) {
        /** float32 graphs with an int64 [1] timestep and int32 token ids, a common form of SD1.5 exports. */
        public static Options defaults() {
            return new Options(TensorType.INT64, Contracts.TimestepShape.ONE, TensorType.INT32, TensorType.FLOAT32);
        }

        public Options {
            if (idsType.isFloat()) {
                throw new IllegalArgumentException("token ids are int64 or int32, not " + idsType.label());
            }
            if (!ioType.isFloat()) {
                throw new IllegalArgumentException("graph inputs and outputs are float32 or float16, not " + ioType.label());
            }
        }

        public String describe() {
            return "timestep " + timestepType.label() + " " + timestepShape.label() + ", input_ids " + idsType.label() + ", "
                    + ioType.label() + " inputs and outputs";
        }
    }

    public static DiffusersOnnxModel export(ModelBundle bundle, Path out, Options o) {
        if (!BundleBuilder.ARCHITECTURE.equals(bundle.manifest().architecture())) {
            throw new LayoutException("bundle " + bundle.manifest().id() + " is a " + bundle.manifest().architecture()
                    + " model; only " + BundleBuilder.ARCHITECTURE + " bundles can be exported in the diffusers layout");
        }
        try {
            if (Files.exists(out) && (!Files.isDirectory(out) || hasEntries(out))) {
                throw new FileAlreadyExistsException(out + " exists and is not an empty folder; choose a new one");
            }
            Files.createDirectories(out);
            writeGraph(bundle, BundleBuilder.TEXT_ENCODER, out.resolve("text_encoder"), textEncoder(bundle, o));
            writeGraph(bundle, BundleBuilder.UNET, out.resolve("unet"), unet(bundle, o));
            writeGraph(bundle, BundleBuilder.VAE_DECODER, out.resolve("vae_decoder"), vaeDecoder(bundle, o));
            writeGraph(bundle, BundleBuilder.VAE_ENCODER, out.resolve("vae_encoder"), vaeEncoder(bundle, o));
            copyTokenizer(bundle.dir().resolve(BundleBuilder.TOKENIZER_DIR), out.resolve("tokenizer"));
            writeConfigs(bundle, out, o);
        } catch (IOException e) {
            throw new LayoutException("cannot export bundle " + bundle.manifest().id() + " to " + out + ": " + e.getMessage(), e);
        }
        return DiffusersOnnxModel.open(out);
    }

    private static ModelProto textEncoder(ModelBundle b, Options o) {
        ModelProto m = OnnxGraphs.read(b.graph(BundleBuilder.TEXT_ENCODER));
        if (o.idsType() != TensorType.INT64) {
            m = OnnxGraphs.adaptInput(m, ModelGraphs.INPUT_IDS, o.idsType(), List.of("batch", "77"));
        }
        m = OnnxGraphs.adaptOutput(m, ModelGraphs.LAST_HIDDEN, ModelGraphs.LAST_HIDDEN, o.ioType());
        return OnnxGraphs.adaptOutput(m, ModelGraphs.POOLED, ModelGraphs.POOLED, o.ioType());
    }

    private static ModelProto unet(ModelBundle b, Options o) {
        ModelProto m = OnnxGraphs.read(b.graph(BundleBuilder.UNET));
        List<String> tDims = switch (o.timestepShape()) {
            case SCALAR -> List.of();
            case ONE -> List.of("1");
            case BATCH -> List.of("batch");
        };
        // always declared anew: the bundle's graph takes [1] or [batch] under one dimension name, an export says which
        m = OnnxGraphs.adaptInput(m, ModelGraphs.TIMESTEP, o.timestepType(), tDims);
        if (o.ioType() != TensorType.FLOAT32) {
            m = OnnxGraphs.adaptInput(m, ModelGraphs.SAMPLE, o.ioType(), dims(m, ModelGraphs.SAMPLE));
            m = OnnxGraphs.adaptInput(m, ModelGraphs.CONTEXT, o.ioType(), dims(m, ModelGraphs.CONTEXT));
        }
        return OnnxGraphs.adaptOutput(m, ModelGraphs.NOISE_PRED, "out_sample", o.ioType());
    }

    private static ModelProto vaeDecoder(ModelBundle b, Options o) {
        ModelProto m = OnnxGraphs.read(b.graph(BundleBuilder.VAE_DECODER));
        if (o.ioType() != TensorType.FLOAT32) {
            m = OnnxGraphs.adaptInput(m, ModelGraphs.LATENT_SAMPLE, o.ioType(), dims(m, ModelGraphs.LATENT_SAMPLE));
        }
        return OnnxGraphs.adaptOutput(m, ModelGraphs.SAMPLE, ModelGraphs.SAMPLE, o.ioType());
    }

    private static ModelProto vaeEncoder(ModelBundle b, Options o) {
        ModelProto m = OnnxGraphs.read(b.graph(BundleBuilder.VAE_ENCODER));
        if (o.ioType() != TensorType.FLOAT32) {
            m = OnnxGraphs.adaptInput(m, ModelGraphs.SAMPLE, o.ioType(), dims(m, ModelGraphs.SAMPLE));
        }
        return OnnxGraphs.adaptOutput(m, ModelGraphs.LATENT_MEAN, ModelGraphs.LATENT_SAMPLE, o.ioType());
    }

    private static List<String> dims(ModelProto m, String input) {
        return OnnxGraphs.inputs(m).stream().filter(i -> i.name().equals(input)).findFirst().orElseThrow().dims();
    }

    /** The graph as {@code model.onnx} in its component folder, with the external weight files it names beside it. */
    private static void writeGraph(ModelBundle b, String role, Path folder, ModelProto m) throws IOException {
        Files.createDirectories(folder);
        for (String file : OnnxGraphs.externalFiles(m)) {
            OnnxGraphs.linkOrCopy(b.graph(role).getParent().resolve(file), folder.resolve(file));
        }
        OnnxGraphs.write(m, folder.resolve("model.onnx"));
    }

    private static void copyTokenizer(Path source, Path target) throws IOException {
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(source)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, target.resolve(f.getFileName()));
            }
        }
    }

    private static void writeConfigs(ModelBundle b, Path out, Options o) throws IOException {
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("_class_name", "OnnxStableDiffusionPipeline");
        index.put("_diffusers_version", "0.30.0");
        for (String c : List.of("text_encoder", "unet", "vae_decoder", "vae_encoder")) {
            index.put(c, List.of("diffusers", "OnnxRuntimeModel"));
        }
        index.put("tokenizer", List.of("transformers", "CLIPTokenizer"));
        index.put("scheduler", List.of("diffusers", "PNDMScheduler"));
        index.put("safety_checker", java.util.Arrays.asList(null, null));
        index.put("feature_extractor", java.util.Arrays.asList(null, null));
        index.put("requires_safety_checker", false);
        index.put("_farm_export", Map.of("bundle", b.manifest().id(), "preset", b.manifest().preset(), "options", o.describe()));
        write(out.resolve(DiffusersOnnxModel.MODEL_INDEX), index);

        Map<String, Object> scheduler = new LinkedHashMap<>();
        scheduler.put("_class_name", "PNDMScheduler");
        scheduler.put("num_train_timesteps", 1000);
        scheduler.put("beta_start", 0.00085);
        scheduler.put("beta_end", 0.012);
        scheduler.put("beta_schedule", "scaled_linear");
        scheduler.put("steps_offset", 1);
        scheduler.put("set_alpha_to_one", false);
        scheduler.put("skip_prk_steps", true);
        scheduler.put("clip_sample", false);
        scheduler.put("prediction_type", "epsilon");
        write(out.resolve(DiffusersOnnxModel.SCHEDULER_CONFIG), scheduler);

        Map<String, Object> configs = b.manifest().configs();
        for (String[] c : new String[][] {{"unet", "unet"}, {"text_encoder", "text_encoder"}, {"vae_decoder", "vae"}, {"vae_encoder", "vae"}}) {
            Object cfg = configs.get(c[1]);
            if (cfg instanceof Map<?, ?> map) {
                write(out.resolve(c[0]).resolve("config.json"), map);
            }
        }
    }

    private static void write(Path file, Object value) throws IOException {
        Files.createDirectories(file.getParent());
        Json.mapper().writerWithDefaultPrettyPrinter().writeValue(file.toFile(), value);
    }

    private static boolean hasEntries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isPresent();
        }
    }

    /** Every export variant the farm's tests run: each timestep type and shape, both id types, float16 I/O. */
    public static List<Options> testedVariants() {
        List<Options> v = new ArrayList<>();
        v.add(new Options(TensorType.INT64, Contracts.TimestepShape.ONE, TensorType.INT32, TensorType.FLOAT32));
        v.add(new Options(TensorType.INT64, Contracts.TimestepShape.SCALAR, TensorType.INT64, TensorType.FLOAT32));
        v.add(new Options(TensorType.INT32, Contracts.TimestepShape.BATCH, TensorType.INT32, TensorType.FLOAT32));
        v.add(new Options(TensorType.FLOAT32, Contracts.TimestepShape.ONE, TensorType.INT64, TensorType.FLOAT32));
        v.add(new Options(TensorType.FLOAT32, Contracts.TimestepShape.BATCH, TensorType.INT32, TensorType.FLOAT32));
        v.add(new Options(TensorType.FLOAT16, Contracts.TimestepShape.SCALAR, TensorType.INT32, TensorType.FLOAT32));
        v.add(new Options(TensorType.FLOAT16, Contracts.TimestepShape.ONE, TensorType.INT64, TensorType.FLOAT16));
        return v;
    }
}
