package dev.cnfarm.models.arch;

import dev.cnfarm.models.nn.OnnxNn;
import dev.cnfarm.models.onnx.Attr;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.onnx.Value;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto.DataType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The graphs of a model bundle, with their input and output names. Batch, latent and image sizes
 * are dynamic; the reference size only drives checks and FLOP counts.
 *
 * <ul>
 *   <li>{@code unet}: sample [B,4,h,w], timestep [T] (T = 1 or B), encoder_hidden_states [B,L,D] to noise_pred [B,4,h,w]</li>
 *   <li>{@code controlled_unet} with N ControlNets: the same plus controlnet_images [N,B,3,8h,8w] in [0,1] and
 *       controlnet_scales [N,B,R+1] (one scale per ControlNet, batch item and residual, so conditioning scale,
 *       guess mode and per-item zeroing are data, not graphs); one session run per step</li>
 *   <li>{@code controlnet}: one ControlNet alone, outputs down_block_{i}_additional_residual and mid_block_additional_residual</li>
 *   <li>{@code text_encoder}: input_ids [B,77] (int64) to last_hidden_state [B,77,D] and pooler_output [B,D]</li>
 *   <li>{@code vae_decoder}: latent_sample [B,4,h,w] to sample [B,3,8h,8w]; {@code vae_encoder}: sample to latent_mean</li>
 * </ul>
 */
public final class ModelGraphs {
    public static final String SAMPLE = "sample";
    public static final String TIMESTEP = "timestep";
    public static final String CONTEXT = "encoder_hidden_states";
    public static final String CONTROL_IMAGES = "controlnet_images";
    public static final String CONTROL_SCALES = "controlnet_scales";
    public static final String CONTROL_IMAGE = "controlnet_cond";
    public static final String NOISE_PRED = "noise_pred";
    public static final String INPUT_IDS = "input_ids";
    public static final String LAST_HIDDEN = "last_hidden_state";
    public static final String POOLED = "pooler_output";
    public static final String LATENT_SAMPLE = "latent_sample";
    public static final String LATENT_MEAN = "latent_mean";
    public static final String MID_RESIDUAL = "mid_block_additional_residual";
    public static final int SEQUENCE_LENGTH = 77;

    public static final String UNET = "unet";
    public static final String TEXT_ENCODER = "text_encoder";
    public static final String VAE = "vae";

    private ModelGraphs() {}

    public static String controlnetComponent(int i) {
        return "controlnet" + i;
    }

    public static String downResidualName(int i) {
        return "down_block_" + i + "_additional_residual";
    }

    /** The plain UNet: the graph for steps outside every ControlNet's window. */
    public static GraphBuilder plainUNet(ModelPreset p, Storage storage, RefSize r) {
        GraphBuilder g = new GraphBuilder("unet", storage);
        UNetInputs in = unetInputs(g, p, r);
        Value noise = UNet.forward(new OnnxNn(g), UNET, in.sample, in.timestep, in.context, p.unet(), null, null);
        g.output(noise, NOISE_PRED, "batch", p.unet().outChannels(), "height", "width");
        return g;
    }

    /** UNet plus {@code n} ControlNets in one graph (n >= 1); residuals of several ControlNets are summed. */
    public static GraphBuilder controlledUNet(ModelPreset p, int n, Storage storage, RefSize r) {
        if (n < 1 || n > 8) {
            throw new IllegalArgumentException("a controlled UNet takes 1 to 8 ControlNets, not " + n);
        }
        GraphBuilder g = new GraphBuilder("controlled_unet_cn" + n, storage);
        OnnxNn nn = new OnnxNn(g);
        UNetInputs in = unetInputs(g, p, r);
        int scalesPer = UNet.residualCount(p.unet()) + 1;
        Value images = g.input(CONTROL_IMAGES, DataType.FLOAT, new long[] {n, r.batch(), 3, r.imageHeight(), r.imageWidth()},
                n, "batch", 3, "image_height", "image_width");
        Value scales = g.input(CONTROL_SCALES, DataType.FLOAT, new long[] {n, r.batch(), scalesPer}, n, "batch", scalesPer);
        List<Value> down = null;
        Value mid = null;
        for (int i = 0; i < n; i++) {
            try (var s = g.scope(controlnetComponent(i))) {
                Value index = g.constantInt64("index", new long[] {i});
                Value image = g.node("Gather", List.of(images, index), new long[] {r.batch(), 3, r.imageHeight(), r.imageWidth()},
                        Attr.i("axis", 0));
                Value itemScales = g.node("Gather", List.of(scales, index), new long[] {r.batch(), scalesPer}, Attr.i("axis", 0));
                ControlNet.Residuals<Value> res = ControlNet.forward(nn, controlnetComponent(i), controlSample(g, in.sample, p),
                        in.timestep, in.context, image, p.controlnet());
                List<Value> scaled = new ArrayList<>();
                for (int k = 0; k < res.down().size(); k++) {
                    scaled.add(scale(g, res.down().get(k), itemScales, k));
                }
                Value scaledMid = scale(g, res.mid(), itemScales, scalesPer - 1);
                if (down == null) {
                    down = scaled;
                    mid = scaledMid;
                } else {
                    for (int k = 0; k < scaled.size(); k++) {
                        down.set(k, nn.add(down.get(k), scaled.get(k)));
                    }
                    mid = nn.add(mid, scaledMid);
                }
            }
        }
        Value noise = UNet.forward(nn, UNET, in.sample, in.timestep, in.context, p.unet(), down, mid);
        g.output(noise, NOISE_PRED, "batch", p.unet().outChannels(), "height", "width");
        return g;
    }

    /** One ControlNet alone (the split form): its 12 + 1 residuals, unscaled. */
    public static GraphBuilder controlNet(ModelPreset p, Storage storage, RefSize r) {
        GraphBuilder g = new GraphBuilder("controlnet", storage);
        UNetInputs in = unetInputs(g, p, r);
        Value image = g.input(CONTROL_IMAGE, DataType.FLOAT, new long[] {r.batch(), 3, r.imageHeight(), r.imageWidth()},
                "batch", 3, "image_height", "image_width");
        ControlNet.Residuals<Value> res = ControlNet.forward(new OnnxNn(g), controlnetComponent(0), in.sample, in.timestep, in.context, image, p.controlnet());
        for (int i = 0; i < res.down().size(); i++) {
            Value v = res.down().get(i);
            g.output(v, downResidualName(i), "batch", v.dim(1), "h" + i, "w" + i);
        }
        g.output(res.mid(), MID_RESIDUAL, "batch", res.mid().dim(1), "h_mid", "w_mid");
        return g;
    }

    /**
     * The UNet of the split form: sample, timestep and encoder_hidden_states plus the 12 + 1
     * ControlNet residuals as inputs (added where diffusers adds them) to noise_pred. Fed zeros it
     * computes the plain UNet.
     */
    public static GraphBuilder residualUNet(ModelPreset p, Storage storage, RefSize r) {
        Map<String, long[]> shapes = controlNet(p, storage, r).outputShapes(); // the residuals' shapes at the reference size
        GraphBuilder g = new GraphBuilder("unet_with_residual_inputs", storage);
        UNetInputs in = unetInputs(g, p, r);
        List<Value> down = new ArrayList<>();
        int n = UNet.residualCount(p.unet());
        for (int i = 0; i < n; i++) {
            long[] s = shapes.get(downResidualName(i));
            down.add(g.input(downResidualName(i), DataType.FLOAT, s, "batch", s[1], "h" + i, "w" + i));
        }
        long[] m = shapes.get(MID_RESIDUAL);
        Value mid = g.input(MID_RESIDUAL, DataType.FLOAT, m, "batch", m[1], "h_mid", "w_mid");
        Value noise = UNet.forward(new OnnxNn(g), UNET, in.sample, in.timestep, in.context, p.unet(), down, mid);
        g.output(noise, NOISE_PRED, "batch", p.unet().outChannels(), "height", "width");
        return g;
    }

    public static GraphBuilder textEncoder(ModelPreset p, Storage storage, int batch) {
        GraphBuilder g = new GraphBuilder("text_encoder", storage);
        Value ids = g.input(INPUT_IDS, DataType.INT64, new long[] {batch, SEQUENCE_LENGTH}, "batch", SEQUENCE_LENGTH);
        ClipText.Outputs<Value> out = ClipText.forward(new OnnxNn(g), TEXT_ENCODER, ids, p.textEncoder());
        g.output(out.lastHiddenState(), LAST_HIDDEN, "batch", SEQUENCE_LENGTH, p.textEncoder().hiddenSize());
        g.output(out.pooled(), POOLED, "batch", p.textEncoder().hiddenSize());
        return g;
    }

    public static GraphBuilder vaeDecoder(ModelPreset p, Storage storage, RefSize r) {
        GraphBuilder g = new GraphBuilder("vae_decoder", storage);
        Value latent = g.input(LATENT_SAMPLE, DataType.FLOAT, new long[] {1,
                p.vae().latentChannels(), r.latentHeight(), r.latentWidth()}, "batch", p.vae().latentChannels(), "height", "width");
        g.output(Vae.decode(new OnnxNn(g), VAE, latent, p.vae()), SAMPLE, "batch", p.vae().outChannels(), "image_height", "image_width");
        return g;
    }

    public static GraphBuilder vaeEncoder(ModelPreset p, Storage storage, RefSize r) {
        GraphBuilder g = new GraphBuilder("vae_encoder", storage);
        Value image = g.input(SAMPLE, DataType.FLOAT, new long[] {1,
                p.vae().inChannels(), r.imageHeight(), r.imageWidth()}, "batch", p.vae().inChannels(), "image_height", "image_width");
        g.output(Vae.encode(new OnnxNn(g), VAE, image, p.vae()).mean(), LATENT_MEAN, "batch", p.vae().latentChannels(), "height", "width");
        return g;
    }

    private record UNetInputs(Value sample, Value timestep, Value context) {}

    private static UNetInputs unetInputs(GraphBuilder g, ModelPreset p, RefSize r) {
        UNetConfig u = p.unet().validate();
        if (r.latentHeight() % u.sizeMultiple() != 0 || r.latentWidth() % u.sizeMultiple() != 0) {
            throw new IllegalArgumentException("latent size " + r.latentHeight() + "x" + r.latentWidth() + " must divide by "
                    + u.sizeMultiple() + " (image size by " + 8 * u.sizeMultiple() + ") for preset " + p.name());
        }
        Value sample = g.input(SAMPLE, DataType.FLOAT, new long[] {r.batch(), u.inChannels(), r.latentHeight(), r.latentWidth()},
                "batch", u.inChannels(), "height", "width");
        Value t = g.input(TIMESTEP, DataType.FLOAT, new long[] {1}, "timestep_count");
        Value context = g.input(CONTEXT, DataType.FLOAT, new long[] {r.batch(), SEQUENCE_LENGTH, u.crossAttentionDim()},
                "batch", "sequence", u.crossAttentionDim());
        return new UNetInputs(sample, t, context);
    }

    /**
     * What a ControlNet sees of the UNet's input: all of it, or for an inpainting UNet (9 channels)
     * the noisy latent alone, its first 4 channels, as ControlNets trained on the plain UNet expect.
     */
    private static Value controlSample(GraphBuilder g, Value sample, ModelPreset p) {
        int channels = p.controlnet().unet().inChannels();
        if (p.unet().inChannels() == channels) {
            return sample;
        }
        long[] shape = sample.shape().clone();
        shape[1] = channels;
        return g.node("Slice", List.of(sample, g.constantInt64("start", new long[] {0}, 1), g.constantInt64("end", new long[] {channels}, 1),
                g.constantInt64("axes", new long[] {1}, 1)), shape);
    }

    /** residual [B, C, h, w] times scales[:, k] as [B, 1, 1, 1]. */
    private static Value scale(GraphBuilder g, Value residual, Value itemScales, int k) {
        long b = residual.dim(0);
        Value column = g.node("Gather", List.of(itemScales, g.constantInt64("k", new long[] {k})), new long[] {b}, Attr.i("axis", 1));
        Value s4 = g.node("Reshape", List.of(column, g.constantInt64("scale_shape", new long[] {-1, 1, 1, 1}, 4)), new long[] {b, 1, 1, 1});
        return g.node("Mul", List.of(residual, s4), residual.shape());
    }
}
