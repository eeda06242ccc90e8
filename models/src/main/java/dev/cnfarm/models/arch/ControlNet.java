package dev.cnfarm.models.arch;

import dev.cnfarm.models.nn.Layers;
import dev.cnfarm.models.nn.Layers.Params;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.Init;
import dev.cnfarm.models.onnx.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * ControlNetModel, the paper's construction (Zhang, Rao, Agrawala 2023): a trainable copy of the
 * UNet's encoder and middle block, fed the latent plus the control image through a small
 * conditioning encoder, joined back to the locked UNet through 1x1 zero convolutions. With the
 * zero convolutions at zero its residuals are zero, so the controlled UNet computes exactly what
 * the plain UNet computes.
 */
public final class ControlNet {
    private ControlNet() {}

    /** The residuals for the UNet's skips (in skip order) and for its middle block. */
    public record Residuals(List<Value> down, Value mid) {}

    /**
     * @param image control image [B, 3, 8h, 8w] in [0, 1]
     */
    public static Residuals forward(GraphBuilder g, String component, Value sample, Value timestep, Value context, Value image,
                                    ControlNetConfig c) {
        UNetConfig u = c.unet();
        Value temb = UNet.timeEmbedding(g, component, timestep, u);
        Value cond = conditioningEmbedding(g, component, image, c);
        if (cond.dim(2) != sample.dim(2) || cond.dim(3) != sample.dim(3)) {
            throw new IllegalArgumentException("control image " + image + " does not map onto latent " + sample
                    + ": it must be " + c.imageToLatentFactor() + " times the latent's size");
        }
        UNet.Encoded e = UNet.encode(g, component, sample, temb, context, u, cond);
        Params root = new Params(component, "");
        List<Value> down = new ArrayList<>();
        try (var s = g.scope("controlnet_down_blocks")) {
            for (int i = 0; i < e.residuals().size(); i++) {
                Value r = e.residuals().get(i);
                down.add(Layers.zeroConv(g, root.at("controlnet_down_blocks." + i), r, r.dim(1)));
            }
        }
        Value mid = Layers.zeroConv(g, root.at("controlnet_mid_block"), e.hidden(), e.hidden().dim(1));
        return new Residuals(down, mid);
    }

    /**
     * ControlNetConditioningEmbedding: conv_in, pairs of (3x3, 3x3 stride 2) convolutions with SiLU,
     * and a zero-initialised conv_out to the UNet's first block width.
     */
    static Value conditioningEmbedding(GraphBuilder g, String component, Value image, ControlNetConfig c) {
        try (var s = g.scope("controlnet_cond_embedding")) {
            Params p = new Params(component, "controlnet_cond_embedding");
            List<Integer> ch = c.conditioningEmbeddingOutChannels();
            Value h = Layers.silu(g, Layers.conv2d(g, p.at("conv_in"), image, ch.get(0), 3, 1, 1));
            for (int i = 0; i < ch.size() - 1; i++) {
                h = Layers.silu(g, Layers.conv2d(g, p.at("blocks." + (2 * i)), h, ch.get(i), 3, 1, 1));
                h = Layers.silu(g, Layers.conv2d(g, p.at("blocks." + (2 * i + 1)), h, ch.get(i + 1), 3, 2, 1));
            }
            return Layers.conv2d(g, p.at("conv_out"), h, c.unet().blockOutChannels().get(0), 3, 1, 1, Init.ZERO_CONV, Init.ZERO_CONV);
        }
    }
}
