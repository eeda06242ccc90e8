package dev.cnfarm.models.bundle;

import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.arch.RefSize;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.onnx.ParamSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What {@code farm models describe} reports, computed from the graphs without any weights:
 * parameters per graph and per component, operators, and multiply-accumulates at a given size.
 */
public final class ModelDescription {
    /**
     * One graph at one size.
     *
     * @param macs          multiply-accumulates of one run (convolutions, linear layers, attention products)
     * @param outputShapes  outputs at the described size
     */
    public record GraphStats(String role, long params, int paramTensors, Map<String, Long> paramsByComponent,
                             Map<String, Integer> operators, long macs, Map<String, List<Long>> outputShapes) {
        /** GFLOP of one run (one multiply-accumulate is two floating-point operations). */
        public double gflops() {
            return 2.0 * macs / 1e9;
        }
    }

    public record Description(String preset, int controlnets, int batch, int width, int height, List<GraphStats> graphs) {}

    private ModelDescription() {}

    /**
     * @param batch the UNet's batch (2 with classifier-free guidance); text encoder and VAE are described at batch 1
     */
    public static Description describe(ModelPreset preset, int controlnets, int batch, int width, int height) {
        RefSize unetSize = RefSize.ofImage(batch, width, height);
        RefSize single = RefSize.ofImage(1, width, height);
        Map<String, GraphBuilder> graphs = new LinkedHashMap<>();
        graphs.put(BundleBuilder.TEXT_ENCODER, dev.cnfarm.models.arch.ModelGraphs.textEncoder(preset, Storage.FP32, 1));
        graphs.put(BundleBuilder.UNET, dev.cnfarm.models.arch.ModelGraphs.plainUNet(preset, Storage.FP32, unetSize));
        graphs.put("controlnet", dev.cnfarm.models.arch.ModelGraphs.controlNet(preset, Storage.FP32, unetSize));
        if (controlnets > 0) {
            graphs.put(BundleBuilder.CONTROLLED_UNET, dev.cnfarm.models.arch.ModelGraphs.controlledUNet(preset, controlnets, Storage.FP32, unetSize));
        }
        graphs.put(BundleBuilder.VAE_DECODER, dev.cnfarm.models.arch.ModelGraphs.vaeDecoder(preset, Storage.FP32, single));
        graphs.put(BundleBuilder.VAE_ENCODER, dev.cnfarm.models.arch.ModelGraphs.vaeEncoder(preset, Storage.FP32, single));
        List<GraphStats> stats = new ArrayList<>();
        graphs.forEach((role, g) -> stats.add(stats(role, g)));
        return new Description(preset.name(), controlnets, batch, width, height, stats);
    }

    static GraphStats stats(String role, GraphBuilder g) {
        Map<String, Long> byComponent = new TreeMap<>();
        for (ParamSpec p : g.params()) {
            byComponent.merge(p.component(), p.count(), Long::sum);
        }
        Map<String, List<Long>> shapes = new LinkedHashMap<>();
        g.outputShapes().forEach((k, v) -> shapes.put(k, java.util.Arrays.stream(v).boxed().toList()));
        return new GraphStats(role, g.paramCount(), g.params().size(), byComponent, g.opCounts(), g.macs(), shapes);
    }
}
