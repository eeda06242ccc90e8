package dev.cnfarm.models.interop;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.onnx.proto.Onnx.ModelProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * A Stable Diffusion 1.5 model exported to ONNX in the diffusers/optimum folder layout, read as it
 * is: {@code model_index.json}, {@code text_encoder/model.onnx}, {@code unet/model.onnx},
 * {@code vae_decoder/model.onnx} ({@code vae_encoder/} optional), {@code tokenizer/} (vocab.json and
 * merges.txt, or tokenizer.json) and {@code scheduler/scheduler_config.json}. Each graph's declared
 * inputs and outputs are read from the file and turned into the contract the engine feeds (names,
 * float32 or float16, the timestep as int64, int32, float32 or float16, scalar, [1] or [batch]);
 * a graph that does not fit is refused naming the file and the tensor.
 */
public record DiffusersOnnxModel(String id, Path dir, Path textEncoder, Path unet, Path vaeDecoder, Path vaeEncoder, Path controlnet,
                                 Path tokenizerDir, Contracts.Text text, Contracts.UNet unetContract, Contracts.Vae vae, int contextDim,
                                 float vaeScalingFactor, Map<String, Object> schedulerConfig, Controlled controlled,
                                 List<ControlNetGraph> controlnets) {
    /**
     * A ControlNet of the split form: its folder ({@code controlnet/}, {@code controlnet_<name>/}),
     * what it takes (sample, timestep and encoder_hidden_states as in {@code inputs}, the control image
     * as {@code controlInput}, optionally a {@code conditioning_scale} the engine sets to 1) and the
     * residuals it gives, in the order the UNet takes them.
     */
    public record ControlNetGraph(String name, Path file, Contracts.UNet inputs, String controlInput, TensorType controlType,
                                  String scaleInput, int scaleRank, TensorType scaleType, List<String> residuals) {}

    /** Where {@code farm models merge} puts a UNet merged with its ControlNet, beside {@code unet/}. */
    public static final String CONTROLLED_UNET_FILE = "unet_controlnet/model.onnx";

    /**
     * A merged UNet+ControlNet graph in the farm's controlled contract (what {@code farm models merge}
     * writes): the UNet's inputs plus {@code controlnet_images [N, batch, 3, H, W]} and
     * {@code controlnet_scales [N, batch, R+1]}.
     */
    public record Controlled(Path file, Contracts.UNet contract, int controlnets, int residualScales) {}

    public static final String LAYOUT = "diffusers-onnx";
    public static final String MODEL_INDEX = "model_index.json";
    static final String SCHEDULER_CONFIG = "scheduler/scheduler_config.json";
    static final float SD15_VAE_SCALING = 0.18215f;

    /** SD1.5's 12 down-block residuals and the mid block's, in the order a ControlNet outputs them. */
    public static List<String> residualNames() {
        return residualNames(12);
    }

    /** {@code down} down-block residual names and the mid block's (smaller presets have fewer blocks). */
    public static List<String> residualNames(int down) {
        List<String> names = new ArrayList<>();
        IntStream.range(0, down).forEach(i -> names.add(ModelGraphs.downResidualName(i)));
        names.add(ModelGraphs.MID_RESIDUAL);
        return names;
    }

    private static final java.util.regex.Pattern DOWN_RESIDUAL = java.util.regex.Pattern.compile("down_block_(\\d+)_additional_residual");

    /** The residual names among some tensor names: down_block_0.. in order, then the mid block's; empty when none. */
    public static List<String> residualsAmong(java.util.Collection<String> names) {
        int down = (int) names.stream().filter(n -> DOWN_RESIDUAL.matcher(n).matches()).count();
        boolean any = down > 0 || names.contains(ModelGraphs.MID_RESIDUAL);
        return any ? residualNames(down) : List.of();
    }

    /** Whether a folder is in this layout (has a model_index.json). */
    public static boolean looksLike(Path dir) {
        return Files.isRegularFile(dir.resolve(MODEL_INDEX));
    }

    public static DiffusersOnnxModel open(Path dir) {
        List<String> missing = new ArrayList<>();
        for (String f : List.of(MODEL_INDEX, "text_encoder/model.onnx", "unet/model.onnx", "vae_decoder/model.onnx", SCHEDULER_CONFIG)) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                missing.add(f);
            }
        }
        Path tok = dir.resolve("tokenizer");
        boolean tokenizer = Files.isRegularFile(tok.resolve("tokenizer.json"))
                || Files.isRegularFile(tok.resolve("vocab.json")) && Files.isRegularFile(tok.resolve("merges.txt"));
        if (!tokenizer) {
            missing.add("tokenizer/vocab.json and tokenizer/merges.txt (or tokenizer/tokenizer.json)");
        }
        if (!missing.isEmpty()) {
            throw new LayoutException(dir + " is not a complete diffusers ONNX export: missing " + String.join(", ", missing));
        }
        Path te = dir.resolve("text_encoder/model.onnx");
        Path un = dir.resolve("unet/model.onnx");
        Path vd = dir.resolve("vae_decoder/model.onnx");
        Contracts.Text text = textContract(te, OnnxGraphs.read(te));
        int[] contextDim = new int[1];
        Contracts.UNet unet = unetContract(un, OnnxGraphs.read(un), contextDim);
        Contracts.Vae vae = vaeContract(vd, OnnxGraphs.read(vd));
        Path ve = dir.resolve("vae_encoder/model.onnx");
        Path cn = dir.resolve("controlnet/model.onnx");
        Path cu = dir.resolve(CONTROLLED_UNET_FILE);
        Controlled controlled = Files.isRegularFile(cu) ? controlledContract(cu, OnnxGraphs.read(cu), contextDim[0]) : null;
        List<ControlNetGraph> controlnets = new ArrayList<>();
        if (!unet.residualInputs().isEmpty()) {
            for (Path folder : controlNetFolders(dir)) {
                Path f = folder.resolve("model.onnx");
                controlnets.add(controlNetContract(folder.getFileName().toString(), f, OnnxGraphs.read(f), unet.residualInputs()));
            }
            if (controlnets.isEmpty()) {
                throw new LayoutException(un + " is a ControlNet UNet (it takes the residual inputs) but " + dir
                        + " has no controlnet/model.onnx to give them");
            }
        }
        return new DiffusersOnnxModel(dir.toAbsolutePath().normalize().getFileName().toString(), dir, te, un, vd,
                Files.isRegularFile(ve) ? ve : null, Files.isRegularFile(cn) ? cn : null, tok, text, unet, vae, contextDim[0],
                vaeScaling(dir), readJson(dir.resolve(SCHEDULER_CONFIG)), controlled, List.copyOf(controlnets));
    }

    /** {@code controlnet/} first, then {@code controlnet_*} and {@code controlnet-*} folders by name: the model's ControlNet slots. */
    static List<Path> controlNetFolders(Path dir) {
        try (var list = Files.list(dir)) {
            return list.filter(p -> Files.isRegularFile(p.resolve("model.onnx")))
                    .filter(p -> {
                        String n = p.getFileName().toString();
                        return n.equals("controlnet") || n.startsWith("controlnet_") || n.startsWith("controlnet-");
                    })
                    .sorted(java.util.Comparator.comparing((Path p) -> !p.getFileName().toString().equals("controlnet"))
                            .thenComparing(p -> p.getFileName().toString()))
                    .toList();
        } catch (IOException e) {
            throw new LayoutException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    static ControlNetGraph controlNetContract(String name, Path file, ModelProto model, List<String> unetResiduals) {
        Map<String, GraphIo> in = byName(OnnxGraphs.inputs(model));
        GraphIo cond = require(file, in, "controlnet_cond", "[batch, 3, image_height, image_width]");
        floatOfRank(file, "input", cond, 4, "[batch, 3, image_height, image_width]");
        in.remove("controlnet_cond");
        GraphIo scale = in.remove("conditioning_scale");
        if (scale != null && (TensorType.of(scale.elemType()).filter(TensorType::isFloat).isEmpty() || scale.rank() > 1)) {
            throw new LayoutException(file + ": input 'conditioning_scale' is " + scale.describe() + "; expected a float scalar or [1]");
        }
        List<String> outs = OnnxGraphs.outputs(model).stream().map(GraphIo::name).toList();
        List<String> residuals = residualsAmong(outs);
        if (!residuals.equals(unetResiduals)) {
            throw new LayoutException(file + ": gives residuals " + residuals + " but the UNet takes " + unetResiduals);
        }
        List<GraphIo> probe = new ArrayList<>(in.values());
        // the ControlNet's own inputs must be what a UNet takes: checked with the UNet's rules, with a stand-in output
        Contracts.UNet inputs = unetContract(file, probe, List.of(new GraphIo(residuals.get(0), TensorType.FLOAT32.onnx().getNumber(),
                List.of("batch", "c", "h", "w"))), new int[1]);
        return new ControlNetGraph(name, file, inputs, cond.name(), TensorType.of(cond.elemType()).orElseThrow(),
                scale == null ? null : scale.name(), scale == null ? 0 : scale.rank(),
                scale == null ? TensorType.FLOAT32 : TensorType.of(scale.elemType()).orElseThrow(), residuals);
    }

    static Controlled controlledContract(Path file, ModelProto model, int contextDim) {
        Map<String, GraphIo> in = byName(OnnxGraphs.inputs(model));
        GraphIo images = require(file, in, ModelGraphs.CONTROL_IMAGES, "[N, batch, 3, image_height, image_width]");
        floatOfRank(file, "input", images, 5, "[N, batch, 3, image_height, image_width]");
        GraphIo scales = require(file, in, ModelGraphs.CONTROL_SCALES, "[N, batch, residuals + 1]");
        if (TensorType.of(scales.elemType()).orElse(null) != TensorType.FLOAT32 || scales.rank() != 3
                || !images.dims().get(0).chars().allMatch(Character::isDigit) || !scales.dims().get(2).chars().allMatch(Character::isDigit)) {
            throw new LayoutException(file + ": input 'controlnet_scales' is " + scales.describe() + " with 'controlnet_images' "
                    + images.describe() + "; expected float32 [N, batch, residuals + 1] and a fixed N (as `farm models merge` writes)");
        }
        in.remove(ModelGraphs.CONTROL_IMAGES);
        in.remove(ModelGraphs.CONTROL_SCALES);
        int[] dim = new int[1];
        Contracts.UNet c = unetContract(file, new java.util.ArrayList<>(in.values()), OnnxGraphs.outputs(model), dim);
        if (dim[0] != contextDim) {
            throw new LayoutException(file + ": encoder_hidden_states is " + dim[0] + " wide, the text encoder's is " + contextDim);
        }
        return new Controlled(file, c, Integer.parseInt(images.dims().get(0)), Integer.parseInt(scales.dims().get(2)));
    }

    static Contracts.UNet unetContract(Path file, ModelProto model, int[] contextDimOut) {
        return unetContract(file, OnnxGraphs.inputs(model), OnnxGraphs.outputs(model), contextDimOut);
    }

    static Contracts.UNet unetContract(Path file, List<GraphIo> inputs, List<GraphIo> outs, int[] contextDimOut) {
        Map<String, GraphIo> in = byName(inputs);
        Set<String> known = new java.util.HashSet<>(List.of(ModelGraphs.SAMPLE, ModelGraphs.TIMESTEP, ModelGraphs.CONTEXT));
        List<String> expectedResiduals = residualsAmong(in.keySet());
        known.addAll(expectedResiduals);
        for (GraphIo io : in.values()) {
            if (!known.contains(io.name())) {
                throw new LayoutException(file + ": unexpected input '" + io.name() + "' (" + io.describe() + "); a diffusers UNet "
                        + "takes sample, timestep and encoder_hidden_states (a ControlNet UNet also down_block_0..11_additional_residual "
                        + "and mid_block_additional_residual)");
            }
        }
        GraphIo sample = require(file, in, ModelGraphs.SAMPLE, "[batch, 4, height, width]");
        floatOfRank(file, "input", sample, 4, "[batch, 4, height, width]");
        GraphIo t = require(file, in, ModelGraphs.TIMESTEP, "[1]");
        TensorType tType = TensorType.of(t.elemType()).orElseThrow(() -> new LayoutException(file + ": input 'timestep' is "
                + t.describe() + "; expected int64, int32, float32 or float16, a scalar, [1] or [batch]"));
        Contracts.TimestepShape shape = switch (t.rank()) {
            case 0 -> Contracts.TimestepShape.SCALAR;
            case 1 -> t.dims().get(0).equals("1") ? Contracts.TimestepShape.ONE : Contracts.TimestepShape.BATCH;
            default -> throw new LayoutException(file + ": input 'timestep' is " + t.describe() + "; expected a scalar, [1] or [batch]");
        };
        GraphIo ctx = require(file, in, ModelGraphs.CONTEXT, "[batch, 77, 768]");
        floatOfRank(file, "input", ctx, 3, "[batch, 77, 768]");
        if (!ctx.dims().get(2).chars().allMatch(Character::isDigit)) {
            throw new LayoutException(file + ": input 'encoder_hidden_states' is " + ctx.describe()
                    + "; its last dimension (the text encoder's width, 768 for SD1.5) must be fixed");
        }
        contextDimOut[0] = Integer.parseInt(ctx.dims().get(2));
        List<String> residuals = expectedResiduals;
        List<String> absent = residuals.stream().filter(n -> !in.containsKey(n)).toList();
        if (!absent.isEmpty()) {
            throw new LayoutException(file + ": a ControlNet UNet takes down_block_0.._additional_residual in order and "
                    + "mid_block_additional_residual; missing " + absent);
        }
        if (outs.isEmpty()) {
            throw new LayoutException(file + " declares no output");
        }
        GraphIo out = outs.get(0);
        floatOfRank(file, "output", out, 4, "[batch, 4, height, width]");
        List<Long> channels = new ArrayList<>();
        for (String rname : residuals) {
            GraphIo io = in.get(rname);
            if (io.rank() != 4 || !io.dims().get(1).chars().allMatch(Character::isDigit) || io.dims().get(1).isEmpty()) {
                throw new LayoutException(file + ": input '" + rname + "' is " + io.describe() + "; expected [batch, channels, h, w] "
                        + "with fixed channels");
            }
            channels.add(Long.parseLong(io.dims().get(1)));
        }
        return new Contracts.UNet(sample.name(), TensorType.of(sample.elemType()).orElseThrow(), t.name(), tType, shape, ctx.name(),
                TensorType.of(ctx.elemType()).orElseThrow(), out.name(), TensorType.of(out.elemType()).orElseThrow(), residuals,
                List.copyOf(channels), residualLevels(file, residuals.size()));
    }

    /**
     * The resolution level of each residual: diffusers' UNet gives conv_in's output, then per level
     * layers_per_block resnet outputs and (but at the last level) the downsampler's, then the middle
     * block at the last level. layers_per_block comes from the UNet's config.json beside the graph, 2
     * (SD1.5's) without one.
     */
    static List<Integer> residualLevels(Path unetFile, int residuals) {
        if (residuals == 0) {
            return List.of();
        }
        int perLevel = 2;
        Path config = unetFile.getParent().resolve("config.json");
        if (Files.isRegularFile(config)) {
            JsonNode l = readTree(config).path("layers_per_block");
            if (l.isInt() && l.asInt() > 0) {
                perLevel = l.asInt();
            }
        }
        int down = residuals - 1;
        if (down % (perLevel + 1) != 0) {
            throw new LayoutException(unetFile + ": " + down + " down-block residuals do not fit layers_per_block " + perLevel
                    + " (expected a multiple of " + (perLevel + 1) + "); set layers_per_block in " + config);
        }
        int levels = down / (perLevel + 1);
        List<Integer> out = new ArrayList<>();
        out.add(0);
        for (int l = 0; l < levels; l++) {
            for (int k = 0; k < perLevel; k++) {
                out.add(l);
            }
            if (l < levels - 1) {
                out.add(l + 1);
            }
        }
        out.add(levels - 1);
        return List.copyOf(out);
    }

    static Contracts.Text textContract(Path file, ModelProto model) {
        List<GraphIo> ins = OnnxGraphs.inputs(model);
        if (ins.size() != 1) {
            throw new LayoutException(file + ": a text encoder takes one input (input_ids), this one takes "
                    + ins.stream().map(GraphIo::name).toList());
        }
        GraphIo ids = ins.get(0);
        TensorType idsType = TensorType.of(ids.elemType()).filter(t -> !t.isFloat()).orElseThrow(() -> new LayoutException(file
                + ": input '" + ids.name() + "' is " + ids.describe() + "; expected int64 or int32 [batch, 77]"));
        if (ids.rank() != 2) {
            throw new LayoutException(file + ": input '" + ids.name() + "' is " + ids.describe() + "; expected [batch, 77]");
        }
        List<GraphIo> outs = OnnxGraphs.outputs(model);
        GraphIo hidden = outs.stream().filter(o -> o.name().equals(ModelGraphs.LAST_HIDDEN)).findFirst()
                .orElse(outs.isEmpty() ? null : outs.get(0));
        if (hidden == null) {
            throw new LayoutException(file + " declares no output");
        }
        floatOfRank(file, "output", hidden, 3, "[batch, 77, 768]");
        return new Contracts.Text(ids.name(), idsType, hidden.name(), TensorType.of(hidden.elemType()).orElseThrow());
    }

    static Contracts.Vae vaeContract(Path file, ModelProto model) {
        List<GraphIo> ins = OnnxGraphs.inputs(model);
        if (ins.size() != 1) {
            throw new LayoutException(file + ": a VAE decoder takes one input (latent_sample), this one takes "
                    + ins.stream().map(GraphIo::name).toList());
        }
        GraphIo latent = ins.get(0);
        floatOfRank(file, "input", latent, 4, "[batch, 4, height, width]");
        List<GraphIo> outs = OnnxGraphs.outputs(model);
        if (outs.isEmpty()) {
            throw new LayoutException(file + " declares no output");
        }
        GraphIo image = outs.get(0);
        floatOfRank(file, "output", image, 4, "[batch, 3, image_height, image_width]");
        return new Contracts.Vae(latent.name(), TensorType.of(latent.elemType()).orElseThrow(), image.name(),
                TensorType.of(image.elemType()).orElseThrow());
    }

    /** Tensors by name, in their declared order. */
    static Map<String, GraphIo> byName(List<GraphIo> ios) {
        Map<String, GraphIo> m = new LinkedHashMap<>();
        ios.forEach(io -> m.put(io.name(), io));
        return m;
    }

    private static GraphIo require(Path file, Map<String, GraphIo> in, String name, String shape) {
        GraphIo io = in.get(name);
        if (io == null) {
            throw new LayoutException(file + ": no input '" + name + "' " + shape + "; it has " + in.keySet());
        }
        return io;
    }

    private static void floatOfRank(Path file, String kind, GraphIo io, int rank, String shape) {
        if (TensorType.of(io.elemType()).filter(TensorType::isFloat).isEmpty() || io.rank() != rank) {
            throw new LayoutException(file + ": " + kind + " '" + io.name() + "' is " + io.describe() + "; expected float32 or float16 "
                    + shape);
        }
    }

    private static float vaeScaling(Path dir) {
        Path config = dir.resolve("vae_decoder/config.json");
        if (!Files.isRegularFile(config)) {
            return SD15_VAE_SCALING;
        }
        JsonNode f = readTree(config).path("scaling_factor");
        return f.isNumber() ? f.floatValue() : SD15_VAE_SCALING;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> readJson(Path file) {
        return Json.mapper().convertValue(readTree(file), Map.class);
    }

    private static JsonNode readTree(Path file) {
        try {
            JsonNode n = Json.mapper().readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw new LayoutException(file + " must hold a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new LayoutException(file + " is not valid JSON: " + e.getMessage().split("\n")[0], e);
        }
    }

    /** Layout and contracts in a few lines, for {@code farm models describe} and the worker's heartbeat. */
    public String describeContract() {
        return LAYOUT + ": unet " + unetContract.describe() + "; text encoder " + text.describe() + "; vae decoder " + vae.describe()
                + (controlled == null ? "" : "; unet_controlnet with " + controlled.controlnets() + " ControlNet(s): "
                + controlled.contract().describe())
                + (controlnets.isEmpty() ? "" : "; split ControlNets " + controlnets.stream().map(ControlNetGraph::name).toList());
    }
}
