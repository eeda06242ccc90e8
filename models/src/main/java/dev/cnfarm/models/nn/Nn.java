package dev.cnfarm.models.nn;

import dev.cnfarm.models.onnx.Init;
import java.util.List;

/**
 * The operations the model architectures are written in, over a backend's tensor type {@code T}.
 *
 * <p>Each architecture (UNet, ControlNet, CLIP text encoder, VAE) is described once, in
 * {@code dev.cnfarm.models.arch} and {@link Blocks}, against this interface. The ONNX backend
 * ({@link OnnxNn}) turns the description into graph nodes, which is what bundles and the render
 * workers run; the trainer's libtorch backend computes it eagerly with autograd. Both create each
 * parameter where the description asks for it, under the same diffusers key and PyTorch shape, so
 * weights trained on one backend bind by name on the other and the two compute the same function.
 *
 * <p>Layers that own parameters take a {@link Params} naming them; the rest are pure functions of
 * their inputs.
 */
public interface Nn<T> {

    /** A naming scope (graph nodes are named after the layer being built), closed with try-with-resources. */
    interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /** Names what is built inside after {@code name}; backends without names ignore it. */
    Scope scope(String name);

    /** The tensor's shape (for the ONNX backend, at the graph's reference size). */
    long[] shape(T x);

    /** Dimension {@code i} of {@code x}; negative counts from the end. */
    default long dim(T x, int i) {
        long[] s = shape(x);
        return s[i < 0 ? s.length + i : i];
    }

    // ---------------------------------------------------------------- layers with parameters

    /** Conv2d with bias (weight [out, in, k, k]), square kernel, symmetric padding, initialised as given. */
    T conv2d(Params p, T x, long out, int k, int stride, int pad, Init weightInit, Init biasInit);

    /** Linear over the last axis: y = x W^T + b, weight [out, in]. */
    T linear(Params p, T x, long out, boolean bias);

    /** GroupNorm over [N, C, H, W] with per-channel {@code weight} and {@code bias}. */
    T groupNorm(Params p, T x, int groups, float eps);

    /** LayerNorm over the last axis with {@code weight} and {@code bias}. */
    T layerNorm(Params p, T x, float eps);

    /** Rows of the table {@code p.weight} [rows, dim] picked by the int64 ids [B, L]: [B, L, dim]. */
    T embedding(Params p, T ids, long rows, long dim);

    /** x [B, L, D] plus the first L rows of the table {@code p.weight} [rows, D] (learned positions). */
    T addPositionEmbedding(Params p, T x, long rows);

    // ---------------------------------------------------------------- functions

    T silu(T x);

    /** GELU, the exact (erf) form. */
    T gelu(T x);

    /** CLIP's quick GELU: x sigmoid(1.702 x). */
    T quickGelu(T x);

    /** Element-wise sum of two tensors of the same shape. */
    T add(T a, T b);

    /** Element-wise product of two tensors of the same shape. */
    T mul(T a, T b);

    /** x [N, C, H, W] plus v [N, C] broadcast over H and W (the time embedding in a resnet). */
    T addPerChannel(T x, T v);

    /**
     * Scaled dot-product attention of already projected queries [B, N, C], keys and values [B, M, C]
     * with {@code heads} heads of C / heads channels: softmax(q k^T / sqrt(d)) v, heads merged back
     * to [B, N, C]. {@code causal}: query i sees keys 0..i only (CLIP's mask).
     */
    T attention(T q, T k, T v, int heads, boolean causal);

    /** Splits along {@code axis} into parts of the given sizes. */
    List<T> split(T x, int axis, long... sizes);

    /** Concatenation along channels (axis 1). */
    T concatChannels(T a, T b);

    /** Nearest-neighbour 2x upsampling of [N, C, H, W]. */
    T upsample2x(T x);

    /** Nearest-neighbour upsampling of [N, C, h, w] to the height and width of {@code like}. */
    T upsampleTo(T x, T like);

    /** Pads the right and bottom edges of [N, C, H, W] by one zero (the VAE's asymmetric downsampling). */
    T padRightBottom(T x);

    /**
     * Sinusoidal timestep embedding (diffusers' {@code Timesteps}): for t [T], frequencies
     * exp(-ln(10000) i / (half - shift)), [cos, sin] when {@code flipSinToCos}, else [sin, cos].
     */
    T timestepEmbedding(T t, int dim, boolean flipSinToCos, float shift);

    /** [N, C, H, W] to [N, H*W, C]: tokens for a transformer. */
    T toTokens(T x);

    /** [N, H*W, C] back to the shape of {@code like} ([N, C, H, W]). */
    T fromTokens(T tokens, T like);

    /** hidden [B, L, D] at the position of the largest id of each row of ids [B, L]: [B, D] (CLIP's pooled output). */
    T pickAtArgmax(T hidden, T ids);

    // ---------------------------------------------------------------- conveniences

    /** Conv2d with PyTorch's default initialisation. */
    default T conv2d(Params p, T x, long out, int k, int stride, int pad) {
        return conv2d(p, x, out, k, stride, pad, Init.WEIGHT, Init.BIAS);
    }

    /** A zero convolution (1x1, weight and bias initialised to zero): ControlNet's link to the UNet. */
    default T zeroConv(Params p, T x, long out) {
        return conv2d(p, x, out, 1, 1, 0, Init.ZERO_CONV, Init.ZERO_CONV);
    }

    default void requireRank(T x, int rank, String where) {
        if (shape(x).length != rank) {
            throw new IllegalArgumentException(where + ": expected a rank-" + rank + " input, got " + java.util.Arrays.toString(shape(x)));
        }
    }

    default void requireSameShape(T a, T b, String where) {
        if (!java.util.Arrays.equals(shape(a), shape(b))) {
            throw new IllegalArgumentException(where + ": shapes differ, " + java.util.Arrays.toString(shape(a)) + " and "
                    + java.util.Arrays.toString(shape(b)));
        }
    }
}
