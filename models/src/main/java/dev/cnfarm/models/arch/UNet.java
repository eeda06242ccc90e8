package dev.cnfarm.models.arch;

import dev.cnfarm.models.nn.Blocks;
import dev.cnfarm.models.nn.Layers;
import dev.cnfarm.models.nn.Layers.Params;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * UNet2DConditionModel as graph pieces: time embedding, encoder (conv_in, down blocks, middle
 * block) and decoder (up blocks with skip connections, output stage). ControlNet reuses the time
 * embedding and the encoder, since it is a trainable copy of them.
 */
public final class UNet {
    private UNet() {}

    /**
     * The encoder's result: the middle block's output and the 12 (for SD1.5) skip tensors in the
     * order diffusers pushes them, which is also the order of ControlNet's residuals.
     */
    public record Encoded(Value hidden, List<Value> residuals) {}

    /** time_proj (sinusoidal) then time_embedding (linear_1, SiLU, linear_2): t [T] to [T, 4 x C0]. */
    public static Value timeEmbedding(GraphBuilder g, String component, Value t, UNetConfig c) {
        try (var s = g.scope("time_embedding")) {
            Params p = new Params(component, "time_embedding");
            Value proj = Layers.timestepEmbedding(g, t, c.blockOutChannels().get(0), c.flipSinToCos(), c.freqShift());
            Value h = Layers.silu(g, Layers.linear(g, p.at("linear_1"), proj, c.timeEmbedDim(), true));
            return Layers.linear(g, p.at("linear_2"), h, c.timeEmbedDim(), true);
        }
    }

    /**
     * conv_in, the down blocks and the middle block.
     *
     * @param addAfterConvIn added to conv_in's output (ControlNet's conditioning embedding), or null
     */
    public static Encoded encode(GraphBuilder g, String component, Value sample, Value temb, Value context, UNetConfig c,
                                 Value addAfterConvIn) {
        Params root = new Params(component, "");
        List<Integer> channels = c.blockOutChannels();
        Value h = Layers.conv2d(g, root.at("conv_in"), sample, channels.get(0), 3, 1, 1);
        if (addAfterConvIn != null) {
            h = Layers.add(g, h, addAfterConvIn);
        }
        List<Value> residuals = new ArrayList<>();
        residuals.add(h);
        for (int i = 0; i < channels.size(); i++) {
            Params block = root.at("down_blocks." + i);
            boolean cross = c.downBlockTypes().get(i).equals(UNetConfig.CROSS_DOWN);
            for (int j = 0; j < c.layersPerBlock(); j++) {
                h = Blocks.resnet(g, block.at("resnets." + j), h, temb, channels.get(i), c.normNumGroups(), c.normEps());
                if (cross) {
                    h = Blocks.transformer2d(g, block.at("attentions." + j), h, context, c.attentionHeadDim(), c.normNumGroups());
                }
                residuals.add(h);
            }
            if (i < channels.size() - 1) {
                h = Blocks.downsample(g, block, h);
                residuals.add(h);
            }
        }
        Params mid = root.at("mid_block");
        long midChannels = channels.get(channels.size() - 1);
        h = Blocks.resnet(g, mid.at("resnets.0"), h, temb, midChannels, c.normNumGroups(), c.normEps());
        h = Blocks.transformer2d(g, mid.at("attentions.0"), h, context, c.attentionHeadDim(), c.normNumGroups());
        h = Blocks.resnet(g, mid.at("resnets.1"), h, temb, midChannels, c.normNumGroups(), c.normEps());
        return new Encoded(h, residuals);
    }

    /** Adds ControlNet residuals: each skip tensor gets its residual, the middle output gets the last. */
    public static Encoded withResiduals(GraphBuilder g, Encoded e, List<Value> down, Value mid) {
        if (down.size() != e.residuals().size()) {
            throw new IllegalArgumentException("ControlNet gives " + down.size() + " residuals, the UNet has " + e.residuals().size() + " skips");
        }
        List<Value> sums = new ArrayList<>();
        for (int i = 0; i < down.size(); i++) {
            sums.add(Layers.add(g, e.residuals().get(i), down.get(i)));
        }
        return new Encoded(Layers.add(g, e.hidden(), mid), sums);
    }

    /** The up blocks (each skip popped last-in first-out and concatenated after the hidden state) and the output stage. */
    public static Value decode(GraphBuilder g, String component, Encoded e, Value temb, Value context, UNetConfig c) {
        Params root = new Params(component, "");
        List<Integer> reversed = new ArrayList<>(c.blockOutChannels());
        java.util.Collections.reverse(reversed);
        List<Value> skips = new ArrayList<>(e.residuals());
        Value h = e.hidden();
        for (int i = 0; i < reversed.size(); i++) {
            Params block = root.at("up_blocks." + i);
            boolean cross = c.upBlockTypes().get(i).equals(UNetConfig.CROSS_UP);
            for (int j = 0; j <= c.layersPerBlock(); j++) {
                Value skip = skips.remove(skips.size() - 1);
                h = Blocks.concatChannels(g, h, skip);
                h = Blocks.resnet(g, block.at("resnets." + j), h, temb, reversed.get(i), c.normNumGroups(), c.normEps());
                if (cross) {
                    h = Blocks.transformer2d(g, block.at("attentions." + j), h, context, c.attentionHeadDim(), c.normNumGroups());
                }
            }
            if (i < reversed.size() - 1) {
                h = Blocks.upsampleTo(g, block, h, skips.get(skips.size() - 1));
            }
        }
        if (!skips.isEmpty()) {
            throw new IllegalStateException(skips.size() + " skip tensors left unused: the block layout is inconsistent");
        }
        h = Layers.silu(g, Layers.groupNorm(g, root.at("conv_norm_out"), h, c.normNumGroups(), c.normEps()));
        return Layers.conv2d(g, root.at("conv_out"), h, c.outChannels(), 3, 1, 1);
    }

    /** The whole UNet, with optional ControlNet residuals (both null for the plain UNet). */
    public static Value forward(GraphBuilder g, String component, Value sample, Value timestep, Value context, UNetConfig c,
                                List<Value> downResiduals, Value midResidual) {
        Value temb = timeEmbedding(g, component, timestep, c);
        Encoded e = encode(g, component, sample, temb, context, c, null);
        if (downResiduals != null) {
            e = withResiduals(g, e, downResiduals, midResidual);
        }
        return decode(g, component, e, temb, context, c);
    }

    /** Number of skip tensors (and ControlNet down residuals): conv_in, one per layer, one per downsampler. */
    public static int residualCount(UNetConfig c) {
        int n = c.blockOutChannels().size();
        return 1 + n * c.layersPerBlock() + (n - 1);
    }
}
