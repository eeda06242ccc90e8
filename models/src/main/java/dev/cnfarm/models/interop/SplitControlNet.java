package dev.cnfarm.models.interop;

import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.onnx.ParamWriters;
import dev.cnfarm.models.weights.WeightSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The split ControlNet form as other tools export it, built from a preset: {@code controlnet/model.onnx}
 * (sample, timestep, encoder_hidden_states, controlnet_cond to {@code down_block_0..11_additional_residual}
 * and {@code mid_block_additional_residual}) and {@code unet/model.onnx} taking those residuals as
 * inputs. With the same weights as a bundle, the pair computes what the bundle's merged graph does.
 */
public final class SplitControlNet {
    public static final String CONTROLNET_FILE = "controlnet/model.onnx";
    public static final String UNET_FILE = "unet/model.onnx";

    private SplitControlNet() {}

    /** @param externalData weights in {@code <component>.weights} beside each graph (needed past 2 GB) */
    public static void build(Path dir, ModelPreset preset, WeightSource weights, Storage storage, boolean externalData) {
        var ref = BundleBuilder.referenceSize(preset);
        write(ModelGraphs.controlNet(preset, storage, ref), dir.resolve(CONTROLNET_FILE), weights, storage, externalData, "ControlNet");
        write(ModelGraphs.residualUNet(preset, storage, ref), dir.resolve(UNET_FILE), weights, storage, externalData,
                "UNet with ControlNet residual inputs");
    }

    private static void write(GraphBuilder g, Path file, WeightSource weights, Storage storage, boolean external, String what) {
        try {
            Files.createDirectories(file.getParent());
            if (external) {
                try (ParamWriters.ExternalData ext = new ParamWriters.ExternalData(file.getParent(), weights, storage)) {
                    OnnxGraphs.write(g.build(ext.writer(), what, Map.of("cnfarm.form", "split")), file);
                }
            } else {
                OnnxGraphs.write(g.build(ParamWriters.inline(weights, storage), what, Map.of("cnfarm.form", "split")), file);
            }
        } catch (java.io.IOException e) {
            throw new LayoutException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
