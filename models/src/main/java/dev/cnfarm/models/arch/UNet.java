package dev.cnfarm.models.arch;

import dev.cnfarm.models.nn.Blocks;
import dev.cnfarm.models.nn.Nn;
import dev.cnfarm.models.nn.Params;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * UNet2DConditionModel, described once over {@link Nn}: time embedding, encoder (conv_in, down
 * blocks, middle block) and decoder (up blocks with skip connections, output stage). ControlNet
 * reuses the time embedding and the encoder, since it is a trainable copy of them.
 */
public final class UNet {
    private UNet() {}

    /**
     * The encoder's result: the middle block's output and the 12 (for SD1.5) skip tensors in the
     * order diffusers pushes them, which is also the order of ControlNet's residuals.
     */
    public record Encoded<T>(T hidden, List<T> residuals) {}

    /** time_proj (sinusoidal) then time_embedding (linear_1, SiLU, linear_2): t [T] to [T, 4 x C0]. */
    public static <T> T timeEmbedding(Nn<T> nn, String component, T t, UNetConfig c) {
        try (var s = nn.scope("time_embedding")) {
            Params p = new Params(component, "time_embedding");
            T proj = nn.timestepEmbedding(t, c.blockOutChannels().get(0), c.flipSinToCos(), c.freqShift());
            T h = nn.silu(nn.linear(p.at("linear_1"), proj, c.timeEmbedDim(), true));
            return nn.linear(p.at("linear_2"), h, c.timeEmbedDim(), true);
        }
    }

    /**
     * conv_in, the down blocks and the middle block.
     *
     * @param addAfterConvIn added to conv_in's output (ControlNet's conditioning embedding), or null
     */
    public static <T> Encoded<T> encode(Nn<T> nn, String component, T sample, T temb, T context, UNetConfig c, T addAfterConvIn) {
        Params root = new Params(component, "");
        List<Integer> channels = c.blockOutChannels();
        T h = nn.conv2d(root.at("conv_in"), sample, channels.get(0), 3, 1, 1);
        if (addAfterConvIn != null) {
            h = nn.add(h, addAfterConvIn);
        }
        List<T> residuals = new ArrayList<>();
        residuals.add(h);
        for (int i = 0; i < channels.size(); i++) {
            Params block = root.at("down_blocks." + i);
            boolean cross = c.downBlockTypes().get(i).equals(UNetConfig.CROSS_DOWN);
            for (int j = 0; j < c.layersPerBlock(); j++) {
                h = Blocks.resnet(nn, block.at("resnets." + j), h, temb, channels.get(i), c.normNumGroups(), c.normEps());
                if (cross) {
                    h = Blocks.transformer2d(nn, block.at("attentions." + j), h, context, c.attentionHeadDim(), c.normNumGroups());
                }
                residuals.add(h);
            }
            if (i < channels.size() - 1) {
                h = Blocks.downsample(nn, block, h);
                residuals.add(h);
            }
        }
        Params mid = root.at("mid_block");
        long midChannels = channels.get(channels.size() - 1);
        h = Blocks.resnet(nn, mid.at("resnets.0"), h, temb, midChannels, c.normNumGroups(), c.normEps());
        h = Blocks.transformer2d(nn, mid.at("attentions.0"), h, context, c.attentionHeadDim(), c.normNumGroups());
        h = Blocks.resnet(nn, mid.at("resnets.1"), h, temb, midChannels, c.normNumGroups(), c.normEps());
        return new Encoded<>(h, residuals);
    }

    /** Adds ControlNet residuals: each skip tensor gets its residual, the middle output gets the last. */
    public static <T> Encoded<T> withResiduals(Nn<T> nn, Encoded<T> e, List<T> down, T mid) {
        if (down.size() != e.residuals().size()) {
            throw new IllegalArgumentException("ControlNet gives " + down.size() + " residuals, the UNet has " + e.residuals().size() + " skips");
        }
        List<T> sums = new ArrayList<>();
        for (int i = 0; i < down.size(); i++) {
            sums.add(nn.add(e.residuals().get(i), down.get(i)));
        }
        return new Encoded<>(nn.add(e.hidden(), mid), sums);
    }

    /** The up blocks (each skip popped last-in first-out and concatenated after the hidden state) and the output stage. */
    public static <T> T decode(Nn<T> nn, String component, Encoded<T> e, T temb, T context, UNetConfig c) {
        Params root = new Params(component, "");
        List<Integer> reversed = new ArrayList<>(c.blockOutChannels());
        Collections.reverse(reversed);
        List<T> skips = new ArrayList<>(e.residuals());
        T h = e.hidden();
        for (int i = 0; i < reversed.size(); i++) {
            Params block = root.at("up_blocks." + i);
            boolean cross = c.upBlockTypes().get(i).equals(UNetConfig.CROSS_UP);
            for (int j = 0; j <= c.layersPerBlock(); j++) {
                T skip = skips.remove(skips.size() - 1);
                h = nn.concatChannels(h, skip);
                h = Blocks.resnet(nn, block.at("resnets." + j), h, temb, reversed.get(i), c.normNumGroups(), c.normEps());
                if (cross) {
                    h = Blocks.transformer2d(nn, block.at("attentions." + j), h, context, c.attentionHeadDim(), c.normNumGroups());
                }
            }
            if (i < reversed.size() - 1) {
                h = Blocks.upsampleTo(nn, block, h, skips.get(skips.size() - 1));
            }
        }
        if (!skips.isEmpty()) {
            throw new IllegalStateException(skips.size() + " skip tensors left unused: the block layout is inconsistent");
        }
        h = nn.silu(nn.groupNorm(root.at("conv_norm_out"), h, c.normNumGroups(), c.normEps()));
        return nn.conv2d(root.at("conv_out"), h, c.outChannels(), 3, 1, 1);
    }

    /**
     * The whole UNet, with optional ControlNet residuals: both null for the plain UNet, only
     * {@code midResidual} for the middle-block link alone.
     */
    public static <T> T forward(Nn<T> nn, String component, T sample, T timestep, T context, UNetConfig c, List<T> downResiduals,
                                T midResidual) {
        T temb = timeEmbedding(nn, component, timestep, c);
        Encoded<T> e = encode(nn, component, sample, temb, context, c, null);
        if (downResiduals != null) {
            e = withResiduals(nn, e, downResiduals, midResidual);
        } else if (midResidual != null) {
            // ControlNet's small-scale regime: only the middle-block link, the links to the decoder's skips cut
            e = new Encoded<>(nn.add(e.hidden(), midResidual), e.residuals());
        }
        return decode(nn, component, e, temb, context, c);
    }

    /** Number of skip tensors (and ControlNet down residuals): conv_in, one per layer, one per downsampler. */
    public static int residualCount(UNetConfig c) {
        int n = c.blockOutChannels().size();
        return 1 + n * c.layersPerBlock() + (n - 1);
    }
}
