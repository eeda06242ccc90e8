package dev.cnfarm.trainer.controlnet;

import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.onnx.Init;
import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.models.weights.WeightSource;
import java.util.Map;

/**
 * The ControlNet paper's starting point, as weights: the trainable copy is the base UNet's encoder
 * and middle block (conv_in, time embedding, down blocks, middle block, under the same keys), the
 * conditioning encoder starts random except its last convolution, and every zero convolution (the
 * conditioning encoder's output and the 12 + 1 links to the UNet) starts at zero. With the links
 * at zero the controlled UNet computes exactly what the base computes.
 */
public final class ControlNetInit {
    private ControlNetInit() {}

    /**
     * @param base       the base model's weights by ONNX name ({@code unet.*}, {@code text_encoder.*}, ...)
     * @param component  the ControlNet's component ({@code controlnet0})
     * @param seed       seed of the conditioning encoder's random weights
     */
    public static WeightSource of(Map<String, float[]> base, String component, long seed) {
        RandomWeights fresh = new RandomWeights(seed, true);
        return spec -> {
            if (!spec.component().equals(component)) {
                float[] v = base.get(spec.onnxName());
                if (v == null) {
                    throw new IllegalStateException("the base model has no " + spec.onnxName());
                }
                return v;
            }
            float[] copied = base.get(ModelGraphs.UNET + "." + spec.key());
            if (copied != null && !isControlNetOwn(spec)) {
                return copied.clone();
            }
            return fresh.values(spec);
        };
    }

    /** Parameters the UNet has no counterpart of: the conditioning encoder and the zero convolutions. */
    static boolean isControlNetOwn(ParamSpec spec) {
        return spec.key().startsWith("controlnet_") || spec.init() == Init.ZERO_CONV;
    }
}
