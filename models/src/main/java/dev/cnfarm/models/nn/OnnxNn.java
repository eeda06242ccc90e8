package dev.cnfarm.models.nn;

import dev.cnfarm.models.onnx.Attr;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.Init;
import dev.cnfarm.models.onnx.Value;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto.DataType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The ONNX backend of {@link Nn}: every operation becomes graph nodes in a {@link GraphBuilder},
 * with parameters recorded as specs (PyTorch layout, diffusers names) and shapes checked and
 * multiply-accumulates counted at the builder's reference size.
 *
 * <p>Only portable operators of opset 17 are used: GroupNorm is Reshape + InstanceNormalization +
 * per-channel scale and shift (ONNX's GroupNormalization changed meaning at opset 21), GELU is
 * written with Erf, attention is MatMul + Softmax + MatMul.
 */
public final class OnnxNn implements Nn<Value> {
    private final GraphBuilder g;
    /** One causal mask constant per sequence length, shared by every layer of the graph. */
    private final java.util.Map<Long, Value> causalMasks = new java.util.HashMap<>();

    public OnnxNn(GraphBuilder g) {
        this.g = g;
    }

    public GraphBuilder graph() {
        return g;
    }

    @Override
    public Scope scope(String name) {
        GraphBuilder.Scope s = g.scope(name);
        return s::close;
    }

    @Override
    public long[] shape(Value x) {
        return x.shape();
    }

    // ---------------------------------------------------------------- layers with parameters

    @Override
    public Value conv2d(Params p, Value x, long out, int k, int stride, int pad, Init wInit, Init bInit) {
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

    @Override
    public Value linear(Params p, Value x, long out, boolean bias) {
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

    @Override
    public Value groupNorm(Params p, Value x, int groups, float eps) {
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
        Value back = g.node("Reshape", List.of(n, shapeOf(x)), x.shape());
        Value axes = g.constantInt64("axes", new long[] {1, 2}, 2);
        Value gamma3 = g.node("Unsqueeze", List.of(gamma, axes), new long[] {c, 1, 1});
        Value beta3 = g.node("Unsqueeze", List.of(beta, axes), new long[] {c, 1, 1});
        return g.node("Add", List.of(g.node("Mul", List.of(back, gamma3), x.shape()), beta3), x.shape());
    }

    @Override
    public Value layerNorm(Params p, Value x, float eps) {
        long c = x.dim(-1);
        Value gamma = g.param(p.component(), p.key("weight"), new long[] {c}, Init.ONES, c);
        Value beta = g.param(p.component(), p.key("bias"), new long[] {c}, Init.ZEROS, c);
        return g.node("LayerNormalization", List.of(x, gamma, beta), x.shape(), Attr.i("axis", -1), Attr.f("epsilon", eps));
    }

    @Override
    public Value embedding(Params p, Value ids, long rows, long dim) {
        Value table = g.param(p.component(), p.key("weight"), new long[] {rows, dim}, Init.EMBEDDING, dim);
        return g.node("Gather", List.of(table, ids), new long[] {ids.dim(0), ids.dim(1), dim}, Attr.i("axis", 0));
    }

    @Override
    public Value addPositionEmbedding(Params p, Value x, long rows) {
        long d = x.dim(-1);
        Value table = g.param(p.component(), p.key("weight"), new long[] {rows, d}, Init.EMBEDDING, d);
        if (x.dim(1) != rows) {
            // the text encoder's sequence is always max_position_embeddings long; other lengths slice the table
            table = g.node("Slice", List.of(table, g.constantInt64("start", new long[] {0}, 1),
                    g.constantInt64("end", new long[] {x.dim(1)}, 1)), new long[] {x.dim(1), d});
        }
        return g.node("Add", List.of(x, table), x.shape());
    }

    // ---------------------------------------------------------------- functions

    @Override
    public Value silu(Value x) {
        return g.node("Mul", List.of(x, g.node("Sigmoid", List.of(x), x.shape())), x.shape());
    }

    @Override
    public Value gelu(Value x) {
        Value scaled = g.node("Mul", List.of(x, g.constant("inv_sqrt2", new float[] {(float) (1 / Math.sqrt(2))}, 1)), x.shape());
        Value erf = g.node("Erf", List.of(scaled), x.shape());
        Value onePlus = g.node("Add", List.of(erf, g.constant("one", new float[] {1f}, 1)), x.shape());
        Value half = g.node("Mul", List.of(x, g.constant("half", new float[] {0.5f}, 1)), x.shape());
        return g.node("Mul", List.of(half, onePlus), x.shape());
    }

    @Override
    public Value quickGelu(Value x) {
        Value scaled = g.node("Mul", List.of(x, g.constant("k1702", new float[] {1.702f}, 1)), x.shape());
        return g.node("Mul", List.of(x, g.node("Sigmoid", List.of(scaled), x.shape())), x.shape());
    }

    @Override
    public Value add(Value a, Value b) {
        requireSameShape(a, b, "add");
        return g.node("Add", List.of(a, b), a.shape());
    }

    @Override
    public Value mul(Value a, Value b) {
        requireSameShape(a, b, "mul");
        return g.node("Mul", List.of(a, b), a.shape());
    }

    @Override
    public Value addPerChannel(Value x, Value v) {
        Value v4 = g.node("Unsqueeze", List.of(v, g.constantInt64("axes", new long[] {2, 3}, 2)), new long[] {v.dim(0), v.dim(1), 1, 1});
        return g.node("Add", List.of(x, v4), x.shape());
    }

    @Override
    public Value attention(Value q, Value k, Value v, int heads, boolean causal) {
        requireRank(q, 3, "attention");
        long b = q.dim(0);
        long n = q.dim(1);
        long c = q.dim(2);
        long m = k.dim(1);
        if (c % heads != 0) {
            throw new IllegalArgumentException("attention: " + c + " channels do not split into " + heads + " heads");
        }
        long d = c / heads;
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
        if (causal) {
            Value mask = causalMasks.computeIfAbsent(n, len -> g.constant("causal_mask", causalMask(len.intValue()), len, len));
            scores = g.node("Add", List.of(scores, mask), scoreShape);
        }
        Value probs = g.node("Softmax", List.of(scores), scoreShape, Attr.i("axis", -1));
        Value ctx = g.node("MatMul", List.of(probs, vh), new long[] {b, heads, n, d});
        g.addMacs(b * heads * n * m * d);
        return g.node("Reshape", List.of(
                g.node("Transpose", List.of(ctx), new long[] {b, n, heads, d}, Attr.ints("perm", 0, 2, 1, 3)),
                g.constantInt64("merge_shape", new long[] {0, 0, c}, 3)), new long[] {b, n, c});
    }

    /** 0 on and below the diagonal, a large negative number above: token i sees tokens 0..i. */
    static float[] causalMask(int l) {
        float[] m = new float[l * l];
        for (int i = 0; i < l; i++) {
            for (int j = i + 1; j < l; j++) {
                m[i * l + j] = -1e9f;
            }
        }
        return m;
    }

    @Override
    public List<Value> split(Value x, int axis, long... sizes) {
        int ax = axis < 0 ? x.rank() + axis : axis;
        List<long[]> shapes = new ArrayList<>();
        for (long s : sizes) {
            long[] shape = x.shape().clone();
            shape[ax] = s;
            shapes.add(shape);
        }
        return g.nodeMulti("Split", List.of(x, g.constantInt64("split", sizes, sizes.length)), shapes, DataType.FLOAT,
                Attr.i("axis", axis));
    }

    @Override
    public Value concatChannels(Value a, Value b) {
        if (a.dim(0) != b.dim(0) || a.dim(2) != b.dim(2) || a.dim(3) != b.dim(3)) {
            throw new IllegalArgumentException("skip connection: " + a + " and " + b + " differ in batch or size");
        }
        return g.node("Concat", List.of(a, b), new long[] {a.dim(0), a.dim(1) + b.dim(1), a.dim(2), a.dim(3)}, Attr.i("axis", 1));
    }

    @Override
    public Value upsample2x(Value x) {
        requireRank(x, 4, "upsample");
        Value scales = g.constant("scales", new float[] {1, 1, 2, 2}, 4);
        return g.node("Resize", Arrays.asList(x, null, scales), new long[] {x.dim(0), x.dim(1), 2 * x.dim(2), 2 * x.dim(3)},
                Attr.s("mode", "nearest"), Attr.s("coordinate_transformation_mode", "asymmetric"), Attr.s("nearest_mode", "floor"));
    }

    /**
     * Twice the size, or one less when the encoder's stride-2 convolution rounded an odd size up
     * (diffusers' {@code upsample_size}), so any image size divisible by 8 works.
     */
    @Override
    public Value upsampleTo(Value x, Value like) {
        requireRank(x, 4, "upsample");
        Value nc = g.node("Slice", List.of(shapeOf(x), g.constantInt64("start", new long[] {0}, 1),
                g.constantInt64("end", new long[] {2}, 1)), new long[] {2}, DataType.INT64);
        Value hw = g.node("Slice", List.of(shapeOf(like), g.constantInt64("start", new long[] {2}, 1),
                g.constantInt64("end", new long[] {4}, 1)), new long[] {2}, DataType.INT64);
        Value sizes = g.node("Concat", List.of(nc, hw), new long[] {4}, DataType.INT64, Attr.i("axis", 0));
        return g.node("Resize", Arrays.asList(x, null, null, sizes), new long[] {x.dim(0), x.dim(1), like.dim(2), like.dim(3)},
                Attr.s("mode", "nearest"), Attr.s("coordinate_transformation_mode", "asymmetric"), Attr.s("nearest_mode", "floor"));
    }

    @Override
    public Value padRightBottom(Value x) {
        Value pads = g.constantInt64("pads", new long[] {0, 0, 0, 0, 0, 0, 1, 1}, 8);
        return g.node("Pad", List.of(x, pads), new long[] {x.dim(0), x.dim(1), x.dim(2) + 1, x.dim(3) + 1});
    }

    @Override
    public Value timestepEmbedding(Value t, int dim, boolean flipSinToCos, float shift) {
        float[] freqs = TimestepFrequencies.of(dim, shift);
        int half = freqs.length;
        long tn = t.dim(0);
        Value col = g.node("Unsqueeze", List.of(t, g.constantInt64("axis1", new long[] {1}, 1)), new long[] {tn, 1});
        Value args = g.node("Mul", List.of(col, g.constant("freqs", freqs, 1, half)), new long[] {tn, half});
        Value sin = g.node("Sin", List.of(args), new long[] {tn, half});
        Value cos = g.node("Cos", List.of(args), new long[] {tn, half});
        List<Value> order = flipSinToCos ? List.of(cos, sin) : List.of(sin, cos);
        return g.node("Concat", order, new long[] {tn, 2L * half}, Attr.i("axis", 1));
    }

    @Override
    public Value toTokens(Value x) {
        long[] nhwc = {x.dim(0), x.dim(2), x.dim(3), x.dim(1)};
        Value t = g.node("Transpose", List.of(x), nhwc, Attr.ints("perm", 0, 2, 3, 1));
        return g.node("Reshape", List.of(t, g.constantInt64("tokens_shape", new long[] {0, -1, x.dim(1)}, 3)),
                new long[] {x.dim(0), x.dim(2) * x.dim(3), x.dim(1)});
    }

    @Override
    public Value fromTokens(Value tokens, Value like) {
        Value t = g.node("Transpose", List.of(tokens), new long[] {tokens.dim(0), tokens.dim(2), tokens.dim(1)},
                Attr.ints("perm", 0, 2, 1));
        return g.node("Reshape", List.of(t, shapeOf(like)), like.shape());
    }

    @Override
    public Value pickAtArgmax(Value hidden, Value ids) {
        long b = ids.dim(0);
        long d = hidden.dim(-1);
        Value eos = g.node("ArgMax", List.of(ids), new long[] {b, 1}, DataType.INT64, Attr.i("axis", 1), Attr.i("keepdims", 1));
        Value idx = g.node("Expand", List.of(g.node("Unsqueeze", List.of(eos, g.constantInt64("axes", new long[] {2}, 1)),
                new long[] {b, 1, 1}, DataType.INT64), g.constantInt64("expand", new long[] {1, 1, d}, 3)), new long[] {b, 1, d}, DataType.INT64);
        Value picked = g.node("GatherElements", List.of(hidden, idx), new long[] {b, 1, d}, Attr.i("axis", 1));
        return g.node("Squeeze", List.of(picked, g.constantInt64("axes", new long[] {1}, 1)), new long[] {b, d});
    }

    private Value shapeOf(Value x) {
        return g.node("Shape", List.of(x), new long[] {x.rank()}, DataType.INT64);
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }
}
