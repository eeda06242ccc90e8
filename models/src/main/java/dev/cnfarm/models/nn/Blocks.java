package dev.cnfarm.models.nn;

import dev.cnfarm.models.nn.Layers.Params;
import dev.cnfarm.models.onnx.Attr;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.Value;
import java.util.List;

/** The UNet's and VAE's building blocks, as diffusers defines them. */
public final class Blocks {
    /** GroupNorm epsilon of resnets and the output norm. */
    public static final float RESNET_EPS = 1e-5f;
    /** GroupNorm epsilon of Transformer2DModel's input norm (hard-coded 1e-6 in diffusers). */
    public static final float TRANSFORMER_NORM_EPS = 1e-6f;
    /** LayerNorm epsilon inside the transformer blocks. */
    public static final float LAYER_NORM_EPS = 1e-5f;

    private Blocks() {}

    /**
     * ResnetBlock2D: norm1, SiLU, conv1, (+ time_emb_proj(SiLU(temb))), norm2, SiLU, conv2, plus the
     * input (through a 1x1 conv_shortcut when the channel count changes).
     *
     * @param temb [T, temb_channels] or null (the VAE's resnets have no time input)
     */
    public static Value resnet(GraphBuilder g, Params p, Value x, Value temb, long out, int groups, float eps) {
        try (var s = g.scope(p.prefix())) {
            long in = x.dim(1);
            Value h = Layers.silu(g, Layers.groupNorm(g, p.at("norm1"), x, groups, eps));
            h = Layers.conv2d(g, p.at("conv1"), h, out, 3, 1, 1);
            if (temb != null) {
                Value t = Layers.linear(g, p.at("time_emb_proj"), Layers.silu(g, temb), out, true);
                Value t4 = g.node("Unsqueeze", List.of(t, g.constantInt64("axes", new long[] {2, 3}, 2)),
                        new long[] {t.dim(0), out, 1, 1});
                h = g.node("Add", List.of(h, t4), h.shape());
            }
            h = Layers.silu(g, Layers.groupNorm(g, p.at("norm2"), h, groups, eps));
            h = Layers.conv2d(g, p.at("conv2"), h, out, 3, 1, 1);
            Value shortcut = in == out ? x : Layers.conv2d(g, p.at("conv_shortcut"), x, out, 1, 1, 0);
            return Layers.add(g, shortcut, h);
        }
    }

    /**
     * Transformer2DModel with one BasicTransformerBlock (SD1.5: 1x1 conv projections, GEGLU
     * feed-forward): self-attention, cross-attention to the text context, feed-forward, each with
     * a residual; the whole block is residual around the input.
     */
    public static Value transformer2d(GraphBuilder g, Params p, Value x, Value context, int heads, int groups) {
        try (var s = g.scope(p.prefix())) {
            long c = x.dim(1);
            Value h = Layers.groupNorm(g, p.at("norm"), x, groups, TRANSFORMER_NORM_EPS);
            h = Layers.conv2d(g, p.at("proj_in"), h, c, 1, 1, 0);
            Value tokens = Layers.toTokens(g, h);
            Params block = p.at("transformer_blocks.0");
            Value a1 = Layers.attention(g, block.at("attn1"), Layers.layerNorm(g, block.at("norm1"), tokens, LAYER_NORM_EPS),
                    null, heads, false, null, "to_q", "to_k", "to_v", "to_out.0");
            tokens = Layers.add(g, a1, tokens);
            Value a2 = Layers.attention(g, block.at("attn2"), Layers.layerNorm(g, block.at("norm2"), tokens, LAYER_NORM_EPS),
                    context, heads, false, null, "to_q", "to_k", "to_v", "to_out.0");
            tokens = Layers.add(g, a2, tokens);
            Value ff = Layers.feedForwardGeglu(g, block.at("ff"), Layers.layerNorm(g, block.at("norm3"), tokens, LAYER_NORM_EPS), 4 * c);
            tokens = Layers.add(g, ff, tokens);
            h = Layers.fromTokens(g, tokens, x);
            h = Layers.conv2d(g, p.at("proj_out"), h, c, 1, 1, 0);
            return Layers.add(g, h, x);
        }
    }

    /** Downsample2D of the UNet: a 3x3 convolution with stride 2 and padding 1 ({@code downsamplers.0.conv}). */
    public static Value downsample(GraphBuilder g, Params p, Value x) {
        return Layers.conv2d(g, p.at("downsamplers.0.conv"), x, x.dim(1), 3, 2, 1);
    }

    /** Upsample2D: nearest 2x, then a 3x3 convolution ({@code upsamplers.0.conv}). */
    public static Value upsample(GraphBuilder g, Params p, Value x) {
        return Layers.conv2d(g, p.at("upsamplers.0.conv"), Layers.upsample2x(g, x), x.dim(1), 3, 1, 1);
    }

    /** Upsample2D to the size of the next skip tensor, then a 3x3 convolution ({@code upsamplers.0.conv}). */
    public static Value upsampleTo(GraphBuilder g, Params p, Value x, Value like) {
        return Layers.conv2d(g, p.at("upsamplers.0.conv"), Layers.upsampleTo(g, x, like), x.dim(1), 3, 1, 1);
    }

    /** Concatenation along channels (the UNet's skip connections: hidden first, skip second). */
    public static Value concatChannels(GraphBuilder g, Value a, Value b) {
        if (a.dim(0) != b.dim(0) || a.dim(2) != b.dim(2) || a.dim(3) != b.dim(3)) {
            throw new IllegalArgumentException("skip connection: " + a + " and " + b + " differ in batch or size");
        }
        return g.node("Concat", List.of(a, b), new long[] {a.dim(0), a.dim(1) + b.dim(1), a.dim(2), a.dim(3)}, Attr.i("axis", 1));
    }
}
