package dev.cnfarm.models.arch;

import dev.cnfarm.models.nn.Blocks;
import dev.cnfarm.models.nn.Nn;
import dev.cnfarm.models.nn.Params;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * AutoencoderKL, described once over {@link Nn}: the encoder (image to the latent distribution's
 * mean and log-variance) and the decoder (latent to image in [-1, 1]). Parameter names are those of
 * the AutoencoderKL state dict ({@code encoder.*}, {@code quant_conv.*}, {@code decoder.*},
 * {@code post_quant_conv.*}).
 */
public final class Vae {
    private Vae() {}

    /** The latent distribution: a diagonal Gaussian. */
    public record Posterior<T>(T mean, T logVariance) {}

    /** @param latent [B, latent, h, w], already divided by the scaling factor */
    public static <T> T decode(Nn<T> nn, String component, T latent, VaeConfig c) {
        Params root = new Params(component, "");
        T h = nn.conv2d(root.at("post_quant_conv"), latent, c.latentChannels(), 1, 1, 0);
        Params dec = root.at("decoder");
        List<Integer> reversed = new ArrayList<>(c.blockOutChannels());
        Collections.reverse(reversed);
        h = nn.conv2d(dec.at("conv_in"), h, reversed.get(0), 3, 1, 1);
        h = midBlock(nn, dec.at("mid_block"), h, c);
        for (int i = 0; i < reversed.size(); i++) {
            Params block = dec.at("up_blocks." + i);
            for (int j = 0; j <= c.layersPerBlock(); j++) {
                h = Blocks.resnet(nn, block.at("resnets." + j), h, null, reversed.get(i), c.normNumGroups(), VaeConfig.EPS);
            }
            if (i < reversed.size() - 1) {
                h = Blocks.upsample(nn, block, h);
            }
        }
        h = nn.silu(nn.groupNorm(dec.at("conv_norm_out"), h, c.normNumGroups(), VaeConfig.EPS));
        return nn.conv2d(dec.at("conv_out"), h, c.outChannels(), 3, 1, 1);
    }

    /** @param image [B, 3, H, W] in [-1, 1]; returns the latent distribution (unscaled) */
    public static <T> Posterior<T> encode(Nn<T> nn, String component, T image, VaeConfig c) {
        Params root = new Params(component, "");
        Params enc = root.at("encoder");
        List<Integer> ch = c.blockOutChannels();
        T h = nn.conv2d(enc.at("conv_in"), image, ch.get(0), 3, 1, 1);
        for (int i = 0; i < ch.size(); i++) {
            Params block = enc.at("down_blocks." + i);
            for (int j = 0; j < c.layersPerBlock(); j++) {
                h = Blocks.resnet(nn, block.at("resnets." + j), h, null, ch.get(i), c.normNumGroups(), VaeConfig.EPS);
            }
            if (i < ch.size() - 1) {
                // Downsample2D with padding 0: pad right and bottom by one, then a stride-2 convolution
                h = nn.conv2d(block.at("downsamplers.0.conv"), nn.padRightBottom(h), nn.dim(h, 1), 3, 2, 0);
            }
        }
        h = midBlock(nn, enc.at("mid_block"), h, c);
        h = nn.silu(nn.groupNorm(enc.at("conv_norm_out"), h, c.normNumGroups(), VaeConfig.EPS));
        h = nn.conv2d(enc.at("conv_out"), h, 2L * c.latentChannels(), 3, 1, 1);
        T moments = nn.conv2d(root.at("quant_conv"), h, 2L * c.latentChannels(), 1, 1, 0);
        List<T> parts = nn.split(moments, 1, c.latentChannels(), c.latentChannels());
        return new Posterior<>(parts.get(0), parts.get(1));
    }

    private static <T> T midBlock(Nn<T> nn, Params p, T x, VaeConfig c) {
        long ch = nn.dim(x, 1);
        T h = Blocks.resnet(nn, p.at("resnets.0"), x, null, ch, c.normNumGroups(), VaeConfig.EPS);
        h = attention(nn, p.at("attentions.0"), h, c);
        return Blocks.resnet(nn, p.at("resnets.1"), h, null, ch, c.normNumGroups(), VaeConfig.EPS);
    }

    /** The VAE's single-head spatial self-attention, residual around its group norm. */
    private static <T> T attention(Nn<T> nn, Params p, T x, VaeConfig c) {
        try (var s = nn.scope(p.prefix())) {
            T h = nn.groupNorm(p.at("group_norm"), x, c.normNumGroups(), VaeConfig.EPS);
            T tokens = nn.toTokens(h);
            T a = Blocks.attention(nn, p, tokens, null, 1, true, false, "to_q", "to_k", "to_v", "to_out.0");
            return nn.add(nn.fromTokens(a, x), x);
        }
    }
}
