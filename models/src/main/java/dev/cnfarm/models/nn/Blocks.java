package dev.cnfarm.models.nn;

import java.util.List;

/**
 * The building blocks of the UNet, the VAE and the text encoder as diffusers and transformers
 * define them, written once over {@link Nn} so every backend computes the same thing under the
 * same parameter names.
 */
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
    public static <T> T resnet(Nn<T> nn, Params p, T x, T temb, long out, int groups, float eps) {
        try (var s = nn.scope(p.prefix())) {
            long in = nn.dim(x, 1);
            T h = nn.silu(nn.groupNorm(p.at("norm1"), x, groups, eps));
            h = nn.conv2d(p.at("conv1"), h, out, 3, 1, 1);
            if (temb != null) {
                T t = nn.linear(p.at("time_emb_proj"), nn.silu(temb), out, true);
                h = nn.addPerChannel(h, t);
            }
            h = nn.silu(nn.groupNorm(p.at("norm2"), h, groups, eps));
            h = nn.conv2d(p.at("conv2"), h, out, 3, 1, 1);
            T shortcut = in == out ? x : nn.conv2d(p.at("conv_shortcut"), x, out, 1, 1, 0);
            return nn.add(shortcut, h);
        }
    }

    /**
     * Multi-head attention over [B, N, C] (diffusers' {@code Attention}, CLIP's self-attention):
     * q/k/v projections, scaled dot-product per head, the output projection. Keys and values come
     * from {@code context} (cross-attention) or from {@code x} (self-attention).
     *
     * @param projBias bias on the q/k/v projections (the VAE and CLIP have it, the UNet does not)
     * @param causal   each token sees only itself and the tokens before it (CLIP)
     * @param outName  key of the output projection ({@code to_out.0} in diffusers, {@code out_proj} in CLIP)
     */
    public static <T> T attention(Nn<T> nn, Params p, T x, T context, int heads, boolean projBias, boolean causal,
                                  String qName, String kName, String vName, String outName) {
        nn.requireRank(x, 3, p.key("attention"));
        T kv = context == null ? x : context;
        long c = nn.dim(x, 2);
        if (c % heads != 0) {
            throw new IllegalArgumentException(p.key("attention") + ": " + c + " channels do not split into " + heads + " heads");
        }
        T q = nn.linear(p.at(qName), x, c, projBias);
        T k = nn.linear(p.at(kName), kv, c, projBias);
        T v = nn.linear(p.at(vName), kv, c, projBias);
        return nn.linear(p.at(outName), nn.attention(q, k, v, heads, causal), c, true);
    }

    /** diffusers' FeedForward with GEGLU: proj to 2 x inner, value * GELU(gate), back to C. */
    public static <T> T feedForwardGeglu(Nn<T> nn, Params p, T x, long inner) {
        long c = nn.dim(x, -1);
        T proj = nn.linear(p.at("net.0.proj"), x, 2 * inner, true);
        List<T> parts = nn.split(proj, -1, inner, inner);
        // the first half is the value, the second the gate
        T gated = nn.mul(parts.get(0), nn.gelu(parts.get(1)));
        return nn.linear(p.at("net.2"), gated, c, true);
    }

    /**
     * Transformer2DModel with one BasicTransformerBlock (SD1.5: 1x1 conv projections, GEGLU
     * feed-forward): self-attention, cross-attention to the text context, feed-forward, each with
     * a residual; the whole block is residual around the input.
     */
    public static <T> T transformer2d(Nn<T> nn, Params p, T x, T context, int heads, int groups) {
        try (var s = nn.scope(p.prefix())) {
            long c = nn.dim(x, 1);
            T h = nn.groupNorm(p.at("norm"), x, groups, TRANSFORMER_NORM_EPS);
            h = nn.conv2d(p.at("proj_in"), h, c, 1, 1, 0);
            T tokens = nn.toTokens(h);
            Params block = p.at("transformer_blocks.0");
            T a1 = attention(nn, block.at("attn1"), nn.layerNorm(block.at("norm1"), tokens, LAYER_NORM_EPS),
                    null, heads, false, false, "to_q", "to_k", "to_v", "to_out.0");
            tokens = nn.add(a1, tokens);
            T a2 = attention(nn, block.at("attn2"), nn.layerNorm(block.at("norm2"), tokens, LAYER_NORM_EPS),
                    context, heads, false, false, "to_q", "to_k", "to_v", "to_out.0");
            tokens = nn.add(a2, tokens);
            T ff = feedForwardGeglu(nn, block.at("ff"), nn.layerNorm(block.at("norm3"), tokens, LAYER_NORM_EPS), 4 * c);
            tokens = nn.add(ff, tokens);
            h = nn.fromTokens(tokens, x);
            h = nn.conv2d(p.at("proj_out"), h, c, 1, 1, 0);
            return nn.add(h, x);
        }
    }

    /** Downsample2D of the UNet: a 3x3 convolution with stride 2 and padding 1 ({@code downsamplers.0.conv}). */
    public static <T> T downsample(Nn<T> nn, Params p, T x) {
        return nn.conv2d(p.at("downsamplers.0.conv"), x, nn.dim(x, 1), 3, 2, 1);
    }

    /** Upsample2D: nearest 2x, then a 3x3 convolution ({@code upsamplers.0.conv}). */
    public static <T> T upsample(Nn<T> nn, Params p, T x) {
        return nn.conv2d(p.at("upsamplers.0.conv"), nn.upsample2x(x), nn.dim(x, 1), 3, 1, 1);
    }

    /** Upsample2D to the size of the next skip tensor, then a 3x3 convolution ({@code upsamplers.0.conv}). */
    public static <T> T upsampleTo(Nn<T> nn, Params p, T x, T like) {
        return nn.conv2d(p.at("upsamplers.0.conv"), nn.upsampleTo(x, like), nn.dim(x, 1), 3, 1, 1);
    }
}
