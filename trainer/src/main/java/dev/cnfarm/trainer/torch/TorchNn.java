package dev.cnfarm.trainer.torch;

import dev.cnfarm.models.nn.Nn;
import dev.cnfarm.models.nn.Params;
import dev.cnfarm.models.nn.TimestepFrequencies;
import dev.cnfarm.models.onnx.Init;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The libtorch backend of {@link Nn}: the architectures of {@code dev.cnfarm.models.arch},
 * computed eagerly with autograd. Parameters come from a {@link ParameterStore} under the same
 * names, shapes and initialisation the ONNX backend gives them.
 *
 * <p>Every operation is the one the ONNX graph uses, in libtorch's fused form where it has one
 * (GroupNorm, LayerNorm, scaled dot-product attention): parity tests hold the two backends to
 * 1e-4.
 */
public final class TorchNn implements Nn<Tensor> {
    private final ParameterStore params;

    public TorchNn(ParameterStore params) {
        this.params = params;
    }

    public ParameterStore params() {
        return params;
    }

    @Override
    public Scope scope(String name) {
        return () -> { };
    }

    @Override
    public long[] shape(Tensor x) {
        return Torch.shape(x);
    }

    private Tensor param(Params p, String leaf, long[] shape, Init init, long fanIn) {
        return params.get(p.component(), p.key(leaf), shape, init, fanIn);
    }

    // ---------------------------------------------------------------- layers with parameters

    @Override
    public Tensor conv2d(Params p, Tensor x, long out, int k, int stride, int pad, Init weightInit, Init biasInit) {
        requireRank(x, 4, p.key("conv"));
        long cin = dim(x, 1);
        long fanIn = cin * k * k;
        Tensor w = param(p, "weight", new long[] {out, cin, k, k}, weightInit, fanIn);
        Tensor b = param(p, "bias", new long[] {out}, biasInit, fanIn);
        return torch.conv2d(x, w, new TensorOptional(b), new long[] {stride, stride}, new long[] {pad, pad}, new long[] {1, 1}, 1);
    }

    @Override
    public Tensor linear(Params p, Tensor x, long out, boolean bias) {
        long in = dim(x, -1);
        Tensor w = param(p, "weight", new long[] {out, in}, Init.WEIGHT, in);
        if (!bias) {
            return torch.linear(x, w);
        }
        Tensor b = param(p, "bias", new long[] {out}, Init.BIAS, in);
        return torch.linear(x, w, new TensorOptional(b));
    }

    @Override
    public Tensor groupNorm(Params p, Tensor x, int groups, float eps) {
        requireRank(x, 4, p.key("norm"));
        long c = dim(x, 1);
        if (c % groups != 0) {
            throw new IllegalArgumentException(p.key("norm") + ": " + c + " channels do not split into " + groups + " groups");
        }
        Tensor gamma = param(p, "weight", new long[] {c}, Init.ONES, c);
        Tensor beta = param(p, "bias", new long[] {c}, Init.ZEROS, c);
        return torch.group_norm(x, groups, new TensorOptional(gamma), new TensorOptional(beta), eps, false);
    }

    @Override
    public Tensor layerNorm(Params p, Tensor x, float eps) {
        long c = dim(x, -1);
        Tensor gamma = param(p, "weight", new long[] {c}, Init.ONES, c);
        Tensor beta = param(p, "bias", new long[] {c}, Init.ZEROS, c);
        return torch.layer_norm(x, new long[] {c}, new TensorOptional(gamma), new TensorOptional(beta), eps, false);
    }

    @Override
    public Tensor embedding(Params p, Tensor ids, long rows, long dim) {
        Tensor table = param(p, "weight", new long[] {rows, dim}, Init.EMBEDDING, dim);
        return torch.embedding(table, ids);
    }

    @Override
    public Tensor addPositionEmbedding(Params p, Tensor x, long rows) {
        long d = dim(x, -1);
        Tensor table = param(p, "weight", new long[] {rows, d}, Init.EMBEDDING, d);
        return x.add(table.narrow(0, 0, dim(x, 1)));
    }

    // ---------------------------------------------------------------- functions

    @Override
    public Tensor silu(Tensor x) {
        return torch.silu(x);
    }

    @Override
    public Tensor gelu(Tensor x) {
        return torch.gelu(x);
    }

    @Override
    public Tensor quickGelu(Tensor x) {
        return x.mul(torch.sigmoid(x.mul(new org.bytedeco.pytorch.Scalar(1.702f))));
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        requireSameShape(a, b, "add");
        return a.add(b);
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        requireSameShape(a, b, "mul");
        return a.mul(b);
    }

    @Override
    public Tensor addPerChannel(Tensor x, Tensor v) {
        return x.add(v.reshape(dim(v, 0), dim(v, 1), 1, 1));
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, boolean causal) {
        requireRank(q, 3, "attention");
        long b = dim(q, 0);
        long n = dim(q, 1);
        long c = dim(q, 2);
        long m = dim(k, 1);
        if (c % heads != 0) {
            throw new IllegalArgumentException("attention: " + c + " channels do not split into " + heads + " heads");
        }
        long d = c / heads;
        Tensor qh = q.reshape(b, n, heads, d).permute(0, 2, 1, 3);
        Tensor kh = k.reshape(b, m, heads, d).permute(0, 2, 1, 3);
        Tensor vh = v.reshape(b, m, heads, d).permute(0, 2, 1, 3);
        Tensor ctx = torch.scaled_dot_product_attention(qh, kh, vh, new TensorOptional(), 0.0, causal, new DoubleOptional(), false);
        return ctx.permute(0, 2, 1, 3).reshape(b, n, c);
    }

    @Override
    public List<Tensor> split(Tensor x, int axis, long... sizes) {
        int ax = axis < 0 ? (int) x.dim() + axis : axis;
        List<Tensor> parts = new ArrayList<>();
        long offset = 0;
        for (long s : sizes) {
            parts.add(x.narrow(ax, offset, s));
            offset += s;
        }
        return parts;
    }

    @Override
    public Tensor concatChannels(Tensor a, Tensor b) {
        if (dim(a, 0) != dim(b, 0) || dim(a, 2) != dim(b, 2) || dim(a, 3) != dim(b, 3)) {
            throw new IllegalArgumentException("skip connection: " + java.util.Arrays.toString(shape(a)) + " and "
                    + java.util.Arrays.toString(shape(b)) + " differ in batch or size");
        }
        return torch.cat(new TensorVector(a, b), 1);
    }

    @Override
    public Tensor upsample2x(Tensor x) {
        return torch.upsample_nearest2d(x, new long[] {2 * dim(x, 2), 2 * dim(x, 3)});
    }

    @Override
    public Tensor upsampleTo(Tensor x, Tensor like) {
        return torch.upsample_nearest2d(x, new long[] {dim(like, 2), dim(like, 3)});
    }

    @Override
    public Tensor padRightBottom(Tensor x) {
        return torch.constant_pad_nd(x, 0, 1, 0, 1);
    }

    @Override
    public Tensor timestepEmbedding(Tensor t, int dim, boolean flipSinToCos, float shift) {
        float[] freqs = TimestepFrequencies.of(dim, shift);
        Tensor f = Torch.floats(freqs, 1, freqs.length);
        Tensor args = t.reshape(dim(t, 0), 1).mul(f);
        Tensor sin = args.sin();
        Tensor cos = args.cos();
        return flipSinToCos ? torch.cat(new TensorVector(cos, sin), 1) : torch.cat(new TensorVector(sin, cos), 1);
    }

    @Override
    public Tensor toTokens(Tensor x) {
        return x.permute(0, 2, 3, 1).reshape(dim(x, 0), dim(x, 2) * dim(x, 3), dim(x, 1));
    }

    @Override
    public Tensor fromTokens(Tensor tokens, Tensor like) {
        return tokens.permute(0, 2, 1).reshape(shape(like));
    }

    @Override
    public Tensor pickAtArgmax(Tensor hidden, Tensor ids) {
        long b = dim(ids, 0);
        long d = dim(hidden, -1);
        Tensor idx = ids.argmax(new org.bytedeco.pytorch.LongOptional(1), false).reshape(b, 1, 1).expand(b, 1, d);
        return hidden.gather(1, idx).squeeze(1);
    }
}
