package dev.cnfarm.models.bundle;

import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.arch.RefSize;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.onnx.ParamWriter;
import dev.cnfarm.models.onnx.ParamWriters;
import dev.cnfarm.models.onnx.proto.Onnx.ModelProto;
import dev.cnfarm.models.weights.WeightSource;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Builds a model bundle from a preset: text encoder, plain UNet, controlled UNet (when it has
 * ControlNets), VAE decoder and encoder, each an ONNX file, with the manifest. Models whose UNet
 * passes 1 GiB keep their weights in external data files, one per component
 * ({@code unet.weights}, {@code controlnet0.weights}, ...), which the plain and the controlled UNet
 * graphs share, so the UNet's weights are on disk once.
 */
public final class BundleBuilder {
    public static final String ARCHITECTURE = "sd15-controlnet";
    public static final String TEXT_ENCODER = "text_encoder";
    public static final String UNET = "unet";
    public static final String CONTROLLED_UNET = "controlled_unet";
    public static final String VAE_DECODER = "vae_decoder";
    public static final String VAE_ENCODER = "vae_encoder";
    private static final long EXTERNAL_DATA_THRESHOLD = 1L << 30;

    /** Told how many parameter values have been written, out of how many. */
    @FunctionalInterface
    public interface Progress {
        void update(long done, long total, String graph);
    }

    /**
     * @param controlnets  ControlNets in the controlled graph (0: no controlled graph)
     * @param externalData null: decide by size; true/false: force
     */
    public record Options(String id, ModelPreset preset, int controlnets, Storage dtype, Boolean externalData) {}

    private BundleBuilder() {}

    /** The graphs of a bundle, built (without weights) at the preset's reference size. */
    public static Map<String, GraphBuilder> graphs(ModelPreset preset, int controlnets, Storage dtype, RefSize ref) {
        Map<String, GraphBuilder> g = new LinkedHashMap<>();
        g.put(TEXT_ENCODER, ModelGraphs.textEncoder(preset, dtype, ref.batch()));
        g.put(UNET, ModelGraphs.plainUNet(preset, dtype, ref));
        if (controlnets > 0) {
            g.put(CONTROLLED_UNET, ModelGraphs.controlledUNet(preset, controlnets, dtype, ref));
        }
        g.put(VAE_DECODER, ModelGraphs.vaeDecoder(preset, dtype, ref));
        g.put(VAE_ENCODER, ModelGraphs.vaeEncoder(preset, dtype, ref));
        return g;
    }

    /** A size every preset's graphs can be checked at: batch 2 and a latent of 8 times the size multiple. */
    public static RefSize referenceSize(ModelPreset preset) {
        int side = preset.name().equals("sd15") ? 64 : 8 * preset.unet().sizeMultiple();
        return new RefSize(2, side, side);
    }

    public static ModelBundle build(Path dir, Options o, WeightSource weights, String weightsDescription, Progress progress) {
        Map<String, GraphBuilder> graphs = graphs(o.preset(), o.controlnets(), o.dtype(), referenceSize(o.preset()));
        long unetBytes = graphs.get(UNET).paramCount() * (o.dtype() == Storage.FP16 ? 2 : 4);
        boolean external = o.externalData() != null ? o.externalData() : unetBytes > EXTERNAL_DATA_THRESHOLD;
        long total = uniqueParamValues(graphs);
        AtomicLong done = new AtomicLong();
        Path staging = ModelBundle.stagingDir(dir);
        Map<String, BundleManifest.GraphInfo> infos = new LinkedHashMap<>();
        try {
            Files.createDirectories(staging);
            Set<String> counted = new java.util.HashSet<>();
            String[] current = {""};
            WeightSource counting = spec -> {
                float[] v = weights.values(spec);
                if (counted.add(spec.onnxName())) {
                    progress.update(done.addAndGet(v.length), total, current[0]);
                }
                return v;
            };
            try (ParamWriters.ExternalData ext = new ParamWriters.ExternalData(staging, counting, o.dtype())) {
                for (Map.Entry<String, GraphBuilder> e : graphs.entrySet()) {
                    current[0] = e.getKey();
                    GraphBuilder g = e.getValue();
                    ParamWriter writer = external ? ext.writer() : ParamWriters.inline(counting, o.dtype());
                    ModelProto model = g.build(writer, e.getKey() + " of bundle " + o.id() + " (" + o.preset().name() + ")",
                            Map.of("cnfarm.bundle", o.id(), "cnfarm.preset", o.preset().name()));
                    String file = e.getKey() + ".onnx";
                    try (OutputStream out = Files.newOutputStream(staging.resolve(file))) {
                        model.writeTo(out);
                    }
                    infos.put(e.getKey(), new BundleManifest.GraphInfo(file, specs(g.inputSpecs()), specs(g.outputSpecs())));
                }
            }
        } catch (IOException | RuntimeException e) {
            ModelBundle.deleteQuietly(staging);
            throw new BundleException("cannot build bundle " + o.id() + " in " + dir + ": " + e.getMessage(), e);
        }
        Map<String, Object> configs = new LinkedHashMap<>();
        // stored as plain JSON objects under diffusers' keys, as they read back
        com.fasterxml.jackson.databind.ObjectMapper json = dev.cnfarm.common.json.Json.mapper();
        configs.put("unet", json.convertValue(o.preset().unet(), Map.class));
        configs.put("controlnet", json.convertValue(o.preset().controlnet(), Map.class));
        configs.put("text_encoder", json.convertValue(o.preset().textEncoder(), Map.class));
        configs.put("vae", json.convertValue(o.preset().vae(), Map.class));
        BundleManifest manifest = new BundleManifest(BundleManifest.FORMAT_VERSION, o.id(), ARCHITECTURE, o.preset().name(),
                o.dtype().name().toLowerCase(Locale.ROOT), o.controlnets(),
                "Stable Diffusion 1.5 architecture (" + o.preset().name() + " preset) with " + o.controlnets() + " ControlNet(s)",
                infos, List.of(), weightsDescription, configs);
        return ModelBundle.publish(staging, dir, manifest);
    }

    /** Parameter values to write: each named parameter once, however many graphs use it. */
    static long uniqueParamValues(Map<String, GraphBuilder> graphs) {
        Map<String, Long> unique = new java.util.HashMap<>();
        for (GraphBuilder g : graphs.values()) {
            for (ParamSpec p : g.params()) {
                unique.putIfAbsent(p.onnxName(), p.count());
            }
        }
        return unique.values().stream().mapToLong(Long::longValue).sum();
    }

    private static List<BundleManifest.TensorSpec> specs(List<GraphBuilder.IoSpec> io) {
        return io.stream().map(s -> new BundleManifest.TensorSpec(s.name(), dtypeName(s.type()), s.dims())).toList();
    }

    static String dtypeName(dev.cnfarm.models.onnx.proto.Onnx.TensorProto.DataType t) {
        return switch (t) {
            case FLOAT -> "float32";
            case FLOAT16 -> "float16";
            case INT64 -> "int64";
            case INT32 -> "int32";
            default -> t.name().toLowerCase(Locale.ROOT);
        };
    }
}
