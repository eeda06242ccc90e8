package dev.cnfarm.models.arch;

import dev.cnfarm.models.nn.Blocks;
import dev.cnfarm.models.nn.Layers;
import dev.cnfarm.models.nn.Layers.Params;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.Value;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto.DataType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * AutoencoderKL: the encoder (image to latent distribution; the graph returns its mean) and the
 * decoder (latent to image in [-1, 1]). Parameter names are those of the AutoencoderKL state dict
 * ({@code encoder.*}, {@code quant_conv.*}, {@code decoder.*}, {@code post_quant_conv.*}).
 */
public final class Vae {
    private Vae() {}

    /** @param latent [B, latent, h, w], already divided by the scaling factor */
    public static Value decode(GraphBuilder g, String component, Value latent, VaeConfig c) {
        Params root = new Params(component, "");
        Value h = Layers.conv2d(g, root.at("post_quant_conv"), latent, c.latentChannels(), 1, 1, 0);
        Params dec = root.at("decoder");
        List<Integer> reversed = new ArrayList<>(c.blockOutChannels());
        Collections.reverse(reversed);
        h = Layers.conv2d(g, dec.at("conv_in"), h, reversed.get(0), 3, 1, 1);
        h = midBlock(g, dec.at("mid_block"), h, c);
        for (int i = 0; i < reversed.size(); i++) {
            Params block = dec.at("up_blocks." + i);
            for (int j = 0; j <= c.layersPerBlock(); j++) {
                h = Blocks.resnet(g, block.at("resnets." + j), h, null, reversed.get(i), c.normNumGroups(), VaeConfig.EPS);
            }
            if (i < reversed.size() - 1) {
                h = Blocks.upsample(g, block, h);
            }
        }
        h = Layers.silu(g, Layers.groupNorm(g, dec.at("conv_norm_out"), h, c.normNumGroups(), VaeConfig.EPS));
        return Layers.conv2d(g, dec.at("conv_out"), h, c.outChannels(), 3, 1, 1);
    }

    /** @param image [B, 3, H, W] in [-1, 1]; returns the latent distribution's mean (unscaled) */
    public static Value encode(GraphBuilder g, String component, Value image, VaeConfig c) {
        Params root = new Params(component, "");
        Params enc = root.at("encoder");
        List<Integer> ch = c.blockOutChannels();
        Value h = Layers.conv2d(g, enc.at("conv_in"), image, ch.get(0), 3, 1, 1);
        for (int i = 0; i < ch.size(); i++) {
            Params block = enc.at("down_blocks." + i);
            for (int j = 0; j < c.layersPerBlock(); j++) {
                h = Blocks.resnet(g, block.at("resnets." + j), h, null, ch.get(i), c.normNumGroups(), VaeConfig.EPS);
            }
            if (i < ch.size() - 1) {
                // Downsample2D with padding 0: pad right and bottom by one, then a stride-2 convolution
                h = Layers.conv2d(g, block.at("downsamplers.0.conv"), Layers.padRightBottom(g, h), h.dim(1), 3, 2, 0);
            }
        }
        h = midBlock(g, enc.at("mid_block"), h, c);
        h = Layers.silu(g, Layers.groupNorm(g, enc.at("conv_norm_out"), h, c.normNumGroups(), VaeConfig.EPS));
        h = Layers.conv2d(g, enc.at("conv_out"), h, 2L * c.latentChannels(), 3, 1, 1);
        Value moments = Layers.conv2d(g, root.at("quant_conv"), h, 2L * c.latentChannels(), 1, 1, 0);
        long[] half = {moments.dim(0), c.latentChannels(), moments.dim(2), moments.dim(3)};
        List<Value> parts = g.nodeMulti("Split", List.of(moments, g.constantInt64("split",
                new long[] {c.latentChannels(), c.latentChannels()}, 2)), List.of(half, half), DataType.FLOAT,
                dev.cnfarm.models.onnx.Attr.i("axis", 1));
        return parts.get(0);
    }

    private static Value midBlock(GraphBuilder g, Params p, Value x, VaeConfig c) {
        long ch = x.dim(1);
        Value h = Blocks.resnet(g, p.at("resnets.0"), x, null, ch, c.normNumGroups(), VaeConfig.EPS);
        h = attention(g, p.at("attentions.0"), h, c);
        return Blocks.resnet(g, p.at("resnets.1"), h, null, ch, c.normNumGroups(), VaeConfig.EPS);
    }

    /** The VAE's single-head spatial self-attention, residual around its group norm. */
    private static Value attention(GraphBuilder g, Params p, Value x, VaeConfig c) {
        try (var s = g.scope(p.prefix())) {
            Value h = Layers.groupNorm(g, p.at("group_norm"), x, c.normNumGroups(), VaeConfig.EPS);
            Value tokens = Layers.toTokens(g, h);
            Value a = Layers.attention(g, p, tokens, null, 1, true, null, "to_q", "to_k", "to_v", "to_out.0");
            return Layers.add(g, Layers.fromTokens(g, a, x), x);
        }
    }
}
