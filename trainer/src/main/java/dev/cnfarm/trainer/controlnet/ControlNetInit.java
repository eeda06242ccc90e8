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
 *
 * <p>The conditioning encoder's convolutions start He-normal (standard deviation sqrt(2 / fan-in),
 * biases zero), not at PyTorch's default scale: an edge map is about 1 % white pixels, and through
 * seven default-scaled convolutions with SiLU its signal shrinks to a few hundredths of the biases'
 * (measured: the first ControlNet trained here after 1,250 steps gave residuals that moved by 1e-6
 * between one map and another), so no gradient could tell the maps apart. He-normal keeps the
 * map's signal at its scale through the encoder; its last convolution is still zero, so the start
 * is still exactly the base.
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
            if (spec.key().startsWith(CONDITIONING_ENCODER) && spec.init() != Init.ZERO_CONV) {
                return heNormal(spec, seed);
            }
            return fresh.values(spec);
        };
    }

    static final String CONDITIONING_ENCODER = "controlnet_cond_embedding.";

    /** Weights N(0, 2 / fan-in), biases zero. */
    static float[] heNormal(ParamSpec spec, long seed) {
        float[] v = new float[(int) spec.count()];
        if (spec.shape().length == 1) {
            return v;
        }
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ spec.key().hashCode());
        double std = Math.sqrt(2.0 / Math.max(1, spec.fanIn()));
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian() * std);
        }
        return v;
    }

    /** Parameters the UNet has no counterpart of: the conditioning encoder and the zero convolutions. */
    static boolean isControlNetOwn(ParamSpec spec) {
        return spec.key().startsWith("controlnet_") || spec.init() == Init.ZERO_CONV;
    }
}
