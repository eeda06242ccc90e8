package dev.cnfarm.models.nn;

import dev.cnfarm.models.onnx.Attr;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.Init;
import dev.cnfarm.models.onnx.Value;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto.DataType;
import java.util.Arrays;
import java.util.List;

/**
 * Neural-network layers as ONNX subgraphs, each with PyTorch's parameter layout and diffusers'
 * parameter names, so trained weights bind by name. Every layer checks its input's shape and
 * counts its multiply-accumulates at the builder's reference size.
 *
 * <p>Only portable operators of opset 17 are used: GroupNorm is Reshape + InstanceNormalization +
 * per-channel scale and shift (ONNX's GroupNormalization changed meaning at opset 21), GELU is
 * written with Erf, attention is MatMul + Softmax + MatMul.
 */
public final class Layers {
    private Layers() {}

    /** Where a layer's parameters live: a component and the key prefix inside it. */
    public record Params(String component, String prefix) {
        public Params at(String child) {
            return new Params(component, prefix.isEmpty() ? child : prefix + "." + child);
        }

        String key(String leaf) {
            return prefix.isEmpty() ? leaf : prefix + "." + leaf;
        }
    }

    // ---------------------------------------------------------------- convolution and linear

    /** Conv2d with bias, weight [out, in, k, k], square kernel, symmetric padding. */
    public static Value conv2d(GraphBuilder g, Params p, Value x, long out, int k, int stride, int pad) {
        return conv2d(g, p, x, out, k, stride, pad, Init.WEIGHT, Init.BIAS);
    }

    /** A zero convolution (1x1, weights and bias initialised to zero): ControlNet's link to the UNet. */
    public static Value zeroConv(GraphBuilder g, Params p, Value x, long out) {
        return conv2d(g, p, x, out, 1, 1, 0, Init.ZERO_CONV, Init.ZERO_CONV);
    }

    /** Conv2d with explicit initialisation of weight and bias (zero-initialised convolutions). */
    public static Value conv2d(GraphBuilder g, Params p, Value x, long out, int k, int stride, int pad, Init wInit, Init bInit) {
        requireRank(x, 4, p.key("conv"));
        long cin = x.dim(1);
        long fanIn = cin * k * k;
        Value w = g.param(p.component(), p.key("weight"), new long[] {out, cin, k, k}, wInit, fanIn);
        Value b = g.param(p.component(), p.key("bias"), new long[] {out}, bInit, fanIn);
        long h = (x.dim(2) + 2L * pad - k) / stride + 1;
        long wd = (x.dim(3) + 2L * pad - k) / stride + 1;
        long[] shape = {x.dim(0), out, h, wd};
        g.addMacs(x.dim(0) * out * h * wd * fanIn);
        return g.node("Conv", List.of(x, w, b), shape,
                Attr.ints("kernel_shape", k, k), Attr.ints("strides", stride, stride), Attr.ints("pads", pad, pad, pad, pad));
    }

    /** Linear over the last axis: y = x W^T + b, weight [out, in]. */
    public static Value linear(GraphBuilder g, Params p, Value x, long out, boolean bias) {
        long in = x.dim(-1);
        Value w = g.param(p.component(), p.key("weight"), new long[] {out, in}, Init.WEIGHT, in);
        Value wt = g.node("Transpose", List.of(w), new long[] {in, out}, Attr.ints("perm", 1, 0));
        long[] shape = x.shape().clone();
        shape[shape.length - 1] = out;
        g.addMacs(x.elements() / in * in * out);
        Value y = g.node("MatMul", List.of(x, wt), shape);
        if (!bias) {
            return y;
        }
        Value b = g.param(p.component(), p.key("bias"), new long[] {out}, Init.BIAS, in);
        return g.node("Add", List.of(y, b), shape);
    }

    // ---------------------------------------------------------------- normalisation

    /** GroupNorm over [N, C, H, W] with per-channel affine parameters ({@code weight}, {@code bias}). */
    public static Value groupNorm(GraphBuilder g, Params p, Value x, int groups, float eps) {
        requireRank(x, 4, p.key("norm"));
        long c = x.dim(1);
        if (c % groups != 0) {
            throw new IllegalArgumentException(p.key("norm") + ": " + c + " channels do not split into " + groups + " groups");
        }
        Value gamma = g.param(p.component(), p.key("weight"), new long[] {c}, Init.ONES, c);
        Value beta = g.param(p.component(), p.key("bias"), new long[] {c}, Init.ZEROS, c);
        long[] grouped = {x.dim(0), groups, c / groups * x.dim(2) * x.dim(3)};
        Value r = g.node("Reshape", List.of(x, g.constantInt64("groups_shape", new long[] {0, groups, -1}, 3)), grouped);
        Value ones = g.constant("ones", filled(groups, 1f), groups);
        Value zeros = g.constant("zeros", filled(groups, 0f), groups);
        Value n = g.node("InstanceNormalization", List.of(r, ones, zeros), grouped, Attr.f("epsilon", eps));
        Value back = g.node("Reshape", List.of(n, shapeOf(g, x)), x.shape());
        Value axes = g.constantInt64("axes", new long[] {1, 2}, 2);
        Value gamma3 = g.node("Unsqueeze", List.of(gamma, axes), new long[] {c, 1, 1});
        Value beta3 = g.node("Unsqueeze", List.of(beta, axes), new long[] {c, 1, 1});
        return g.node("Add", List.of(g.node("Mul", List.of(back, gamma3), x.shape()), beta3), x.shape());
    }

    /** LayerNorm over the last axis with {@code weight} and {@code bias}. */
    public static Value layerNorm(GraphBuilder g, Params p, Value x, float eps) {
        long c = x.dim(-1);
        Value gamma = g.param(p.component(), p.key("weight"), new long[] {c}, Init.ONES, c);
        Value beta = g.param(p.component(), p.key("bias"), new long[] {c}, Init.ZEROS, c);
        return g.node("LayerNormalization", List.of(x, gamma, beta), x.shape(), Attr.i("axis", -1), Attr.f("epsilon", eps));
    }

    // ---------------------------------------------------------------- activations

    public static Value silu(GraphBuilder g, Value x) {
        return g.node("Mul", List.of(x, g.node("Sigmoid", List.of(x), x.shape())), x.shape());
    }

    /** GELU, the exact (erf) form: 0.5 x (1 + erf(x / sqrt 2)). */
    public static Value gelu(GraphBuilder g, Value x) {
        Value scaled = g.node("Mul", List.of(x, g.constant("inv_sqrt2", new float[] {(float) (1 / Math.sqrt(2))}, 1)), x.shape());
        Value erf = g.node("Erf", List.of(scaled), x.shape());
        Value onePlus = g.node("Add", List.of(erf, g.constant("one", new float[] {1f}, 1)), x.shape());
        Value half = g.node("Mul", List.of(x, g.constant("half", new float[] {0.5f}, 1)), x.shape());
        return g.node("Mul", List.of(half, onePlus), x.shape());
    }

    /** CLIP's quick GELU: x sigmoid(1.702 x). */
    public static Value quickGelu(GraphBuilder g, Value x) {
        Value scaled = g.node("Mul", List.of(x, g.constant("k1702", new float[] {1.702f}, 1)), x.shape());
        return g.node("Mul", List.of(x, g.node("Sigmoid", List.of(scaled), x.shape())), x.shape());
    }

    // ---------------------------------------------------------------- attention and feed-forward

    /**
     * Multi-head attention over [B, N, C] (diffusers' {@code Attention}): to_q/to_k/to_v, scaled
     * dot-product per head, to_out.0. Keys and values come from {@code context} (cross-attention) or
     * from {@code x} (self-attention).
     *
     * @param projBias bias on to_q/to_k/to_v (the VAE has it, the UNet does not)
     * @param mask     added to the scores (CLIP's causal mask), or null
     * @param outName  key of the output projection ({@code to_out.0} in diffusers, {@code out_proj} in CLIP)
     */
    public static Value attention(GraphBuilder g, Params p, Value x, Value context, int heads, boolean projBias, Value mask,
                                  String qName, String kName, String vName, String outName) {
        requireRank(x, 3, p.key("attention"));
        Value kv = context == null ? x : context;
        long b = x.dim(0);
        long n = x.dim(1);
        long c = x.dim(2);
        long m = kv.dim(1);
        if (c % heads != 0) {
            throw new IllegalArgumentException(p.key("attention") + ": " + c + " channels do not split into " + heads + " heads");
        }
        long d = c / heads;
        Value q = linear(g, p.at(qName), x, c, projBias);
        Value k = linear(g, p.at(kName), kv, c, projBias);
        Value v = linear(g, p.at(vName), kv, c, projBias);
        Value headShape = g.constantInt64("heads_shape", new long[] {0, 0, heads, d}, 4);
        Value qh = g.node("Transpose", List.of(g.node("Reshape", List.of(q, headShape), new long[] {b, n, heads, d})),
                new long[] {b, heads, n, d}, Attr.ints("perm", 0, 2, 1, 3));
        Value kh = g.node("Transpose", List.of(g.node("Reshape", List.of(k, headShape), new long[] {b, m, heads, d})),
                new long[] {b, heads, d, m}, Attr.ints("perm", 0, 2, 3, 1));
        Value vh = g.node("Transpose", List.of(g.node("Reshape", List.of(v, headShape), new long[] {b, m, heads, d})),
                new long[] {b, heads, m, d}, Attr.ints("perm", 0, 2, 1, 3));
        // scaling q (N x d values) is cheaper than scaling the scores (N x M)
        Value qs = g.node("Mul", List.of(qh, g.constant("scale", new float[] {(float) (1 / Math.sqrt(d))}, 1)), qh.shape());
        long[] scoreShape = {b, heads, n, m};
        Value scores = g.node("MatMul", List.of(qs, kh), scoreShape);
        g.addMacs(b * heads * n * m * d);
        if (mask != null) {
            scores = g.node("Add", List.of(scores, mask), scoreShape);
        }
        Value probs = g.node("Softmax", List.of(scores), scoreShape, Attr.i("axis", -1));
        Value ctx = g.node("MatMul", List.of(probs, vh), new long[] {b, heads, n, d});
        g.addMacs(b * heads * n * m * d);
        Value merged = g.node("Reshape", List.of(
                g.node("Transpose", List.of(ctx), new long[] {b, n, heads, d}, Attr.ints("perm", 0, 2, 1, 3)),
                g.constantInt64("merge_shape", new long[] {0, 0, c}, 3)), new long[] {b, n, c});
        return linear(g, p.at(outName), merged, c, true);
    }

    /** diffusers' FeedForward with GEGLU: proj to 2 x inner, value * GELU(gate), back to C. */
    public static Value feedForwardGeglu(GraphBuilder g, Params p, Value x, long inner) {
        long c = x.dim(-1);
        Value proj = linear(g, p.at("net.0.proj"), x, 2 * inner, true);
        long[] half = x.shape().clone();
        half[half.length - 1] = inner;
        List<Value> parts = g.nodeMulti("Split", List.of(proj, g.constantInt64("split", new long[] {inner, inner}, 2)),
                List.of(half, half), DataType.FLOAT, Attr.i("axis", -1));
        // the first half is the value, the second the gate
        Value gated = g.node("Mul", List.of(parts.get(0), gelu(g, parts.get(1))), half);
        return linear(g, p.at("net.2"), gated, c, true);
    }

    // ---------------------------------------------------------------- resampling and embeddings

    /** Nearest-neighbour 2x upsampling of [N, C, H, W]. */
    public static Value upsample2x(GraphBuilder g, Value x) {
        requireRank(x, 4, "upsample");
        Value scales = g.constant("scales", new float[] {1, 1, 2, 2}, 4);
        return g.node("Resize", Arrays.asList(x, null, scales), new long[] {x.dim(0), x.dim(1), 2 * x.dim(2), 2 * x.dim(3)},
                Attr.s("mode", "nearest"), Attr.s("coordinate_transformation_mode", "asymmetric"), Attr.s("nearest_mode", "floor"));
    }

    /**
     * Nearest-neighbour upsampling of [N, C, h, w] to the height and width of {@code like}: twice the
     * size, or one less when the encoder's stride-2 convolution rounded an odd size up (diffusers'
     * {@code upsample_size}), so any image size divisible by 8 works.
     */
    public static Value upsampleTo(GraphBuilder g, Value x, Value like) {
        requireRank(x, 4, "upsample");
        Value nc = g.node("Slice", List.of(shapeOf(g, x), g.constantInt64("start", new long[] {0}, 1),
                g.constantInt64("end", new long[] {2}, 1)), new long[] {2}, DataType.INT64);
        Value hw = g.node("Slice", List.of(shapeOf(g, like), g.constantInt64("start", new long[] {2}, 1),
                g.constantInt64("end", new long[] {4}, 1)), new long[] {2}, DataType.INT64);
        Value sizes = g.node("Concat", List.of(nc, hw), new long[] {4}, DataType.INT64, Attr.i("axis", 0));
        return g.node("Resize", Arrays.asList(x, null, null, sizes), new long[] {x.dim(0), x.dim(1), like.dim(2), like.dim(3)},
                Attr.s("mode", "nearest"), Attr.s("coordinate_transformation_mode", "asymmetric"), Attr.s("nearest_mode", "floor"));
    }

    /** Pads the right and bottom edges by one (the VAE's downsampling, which has no symmetric padding). */
    public static Value padRightBottom(GraphBuilder g, Value x) {
        Value pads = g.constantInt64("pads", new long[] {0, 0, 0, 0, 0, 0, 1, 1}, 8);
        return g.node("Pad", List.of(x, pads), new long[] {x.dim(0), x.dim(1), x.dim(2) + 1, x.dim(3) + 1});
    }

    /**
     * Sinusoidal timestep embedding of diffusers' {@code Timesteps}: for t of shape [T], frequencies
     * exp(-ln(10000) i / (half - shift)), and [cos, sin] when {@code flipSinToCos} (SD1.5), else [sin, cos].
     */
    public static Value timestepEmbedding(GraphBuilder g, Value t, int dim, boolean flipSinToCos, float shift) {
        int half = dim / 2;
        float[] freqs = new float[half];
        for (int i = 0; i < half; i++) {
            freqs[i] = (float) Math.exp(-Math.log(10000) * i / (half - shift));
        }
        long tn = t.dim(0);
        Value col = g.node("Unsqueeze", List.of(t, g.constantInt64("axis1", new long[] {1}, 1)), new long[] {tn, 1});
        Value args = g.node("Mul", List.of(col, g.constant("freqs", freqs, 1, half)), new long[] {tn, half});
        Value sin = g.node("Sin", List.of(args), new long[] {tn, half});
        Value cos = g.node("Cos", List.of(args), new long[] {tn, half});
        List<Value> order = flipSinToCos ? List.of(cos, sin) : List.of(sin, cos);
        return g.node("Concat", order, new long[] {tn, 2L * half}, Attr.i("axis", 1));
    }

    // ---------------------------------------------------------------- shapes

    /** [N, C, H, W] to [N, H*W, C]: tokens for a transformer. */
    public static Value toTokens(GraphBuilder g, Value x) {
        long[] nhwc = {x.dim(0), x.dim(2), x.dim(3), x.dim(1)};
        Value t = g.node("Transpose", List.of(x), nhwc, Attr.ints("perm", 0, 2, 3, 1));
        return g.node("Reshape", List.of(t, g.constantInt64("tokens_shape", new long[] {0, -1, x.dim(1)}, 3)),
                new long[] {x.dim(0), x.dim(2) * x.dim(3), x.dim(1)});
    }

    /** [N, H*W, C] back to the shape of {@code like} ([N, C, H, W]). */
    public static Value fromTokens(GraphBuilder g, Value tokens, Value like) {
        Value t = g.node("Transpose", List.of(tokens), new long[] {tokens.dim(0), tokens.dim(2), tokens.dim(1)},
                Attr.ints("perm", 0, 2, 1));
        return g.node("Reshape", List.of(t, shapeOf(g, like)), like.shape());
    }

    public static Value shapeOf(GraphBuilder g, Value x) {
        return g.node("Shape", List.of(x), new long[] {x.rank()}, DataType.INT64);
    }

    public static Value add(GraphBuilder g, Value a, Value b) {
        requireSameShape(a, b, "add");
        return g.node("Add", List.of(a, b), a.shape());
    }

    public static void requireRank(Value x, int rank, String where) {
        if (x.rank() != rank) {
            throw new IllegalArgumentException(where + ": expected a rank-" + rank + " input, got " + x);
        }
    }

    public static void requireSameShape(Value a, Value b, String where) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException(where + ": shapes differ, " + a + " and " + b);
        }
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }
}
