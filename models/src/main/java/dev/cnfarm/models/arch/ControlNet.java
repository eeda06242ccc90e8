package dev.cnfarm.models.arch;

import dev.cnfarm.models.nn.Nn;
import dev.cnfarm.models.nn.Params;
import dev.cnfarm.models.onnx.Init;
import java.util.ArrayList;
import java.util.Arrays;
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
    public record Residuals<T>(List<T> down, T mid) {}

    /**
     * @param image control image [B, 3, 8h, 8w] in [0, 1]
     */
    public static <T> Residuals<T> forward(Nn<T> nn, String component, T sample, T timestep, T context, T image, ControlNetConfig c) {
        UNetConfig u = c.unet();
        T temb = UNet.timeEmbedding(nn, component, timestep, u);
        T cond = conditioningEmbedding(nn, component, image, c);
        if (nn.dim(cond, 2) != nn.dim(sample, 2) || nn.dim(cond, 3) != nn.dim(sample, 3)) {
            throw new IllegalArgumentException("control image " + Arrays.toString(nn.shape(image)) + " does not map onto latent "
                    + Arrays.toString(nn.shape(sample)) + ": it must be " + c.imageToLatentFactor() + " times the latent's size");
        }
        UNet.Encoded<T> e = UNet.encode(nn, component, sample, temb, context, u, cond);
        Params root = new Params(component, "");
        List<T> down = new ArrayList<>();
        try (var s = nn.scope("controlnet_down_blocks")) {
            for (int i = 0; i < e.residuals().size(); i++) {
                T r = e.residuals().get(i);
                down.add(nn.zeroConv(root.at("controlnet_down_blocks." + i), r, nn.dim(r, 1)));
            }
        }
        T mid = nn.zeroConv(root.at("controlnet_mid_block"), e.hidden(), nn.dim(e.hidden(), 1));
        return new Residuals<>(down, mid);
    }

    /**
     * ControlNetConditioningEmbedding: conv_in, pairs of (3x3, 3x3 stride 2) convolutions with SiLU,
     * and a zero-initialised conv_out to the UNet's first block width.
     */
    static <T> T conditioningEmbedding(Nn<T> nn, String component, T image, ControlNetConfig c) {
        try (var s = nn.scope("controlnet_cond_embedding")) {
            Params p = new Params(component, "controlnet_cond_embedding");
            List<Integer> ch = c.conditioningEmbeddingOutChannels();
            T h = nn.silu(nn.conv2d(p.at("conv_in"), image, ch.get(0), 3, 1, 1));
            for (int i = 0; i < ch.size() - 1; i++) {
                h = nn.silu(nn.conv2d(p.at("blocks." + (2 * i)), h, ch.get(i), 3, 1, 1));
                h = nn.silu(nn.conv2d(p.at("blocks." + (2 * i + 1)), h, ch.get(i + 1), 3, 2, 1));
            }
            return nn.conv2d(p.at("conv_out"), h, c.unet().blockOutChannels().get(0), 3, 1, 1, Init.ZERO_CONV, Init.ZERO_CONV);
        }
    }
}
