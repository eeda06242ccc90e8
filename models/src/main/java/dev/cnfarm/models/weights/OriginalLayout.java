package dev.cnfarm.models.weights;

import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.onnx.ParamSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The original (LDM, A1111 single-file) names of a model's parameters, worked out from the
 * diffusers names the bundles use: the UNet under {@code model.diffusion_model.}, the VAE under
 * {@code first_stage_model.}, the text encoder under {@code cond_stage_model.transformer.}, a
 * ControlNet under {@code control_model.}. The table is built from the model's own parameter list,
 * so it holds for every preset (block and layer counts come from the names), and maps both ways.
 *
 * <p>The rules: the UNet numbers its encoder's layers {@code input_blocks.n} (conv_in first, then
 * each block's layers and its downsampler) and its decoder's {@code output_blocks.n}; a resnet's
 * layers are {@code in_layers}, {@code emb_layers}, {@code out_layers} and {@code skip_connection};
 * attention blocks keep their names. The VAE's decoder counts its up blocks in reverse, its
 * resnets are {@code block_j}, its middle attention's projections {@code q, k, v, proj_out} stored
 * as 1x1 convolutions ([C, C, 1, 1] where diffusers has [C, C]). A ControlNet's zero convolutions
 * are {@code zero_convs.i.0} and {@code middle_block_out.0}, its conditioning encoder
 * {@code input_hint_block.k} (odd k are activations without weights).
 */
public final class OriginalLayout {
    public static final String UNET_PREFIX = "model.diffusion_model.";
    public static final String VAE_PREFIX = "first_stage_model.";
    public static final String TEXT_ENCODER_PREFIX = "cond_stage_model.transformer.";
    public static final String CONTROLNET_PREFIX = "control_model.";
    /** EMA copies of the UNet: this prefix and the UNet key (after {@code diffusion_model.}) with its dots removed. */
    public static final String EMA_PREFIX = "model_ema.";

    /** Where one parameter is in an original file. */
    public record Entry(ParamSpec param, String originalKey, long[] originalShape) {}

    private final Map<String, Entry> byOriginal = new LinkedHashMap<>();
    private final Map<String, Entry> byParam = new LinkedHashMap<>();

    private OriginalLayout() {}

    /**
     * The table for these parameters (a bundle's, all components).
     *
     * @param controlnetPrefix the ControlNet's prefix in its file: {@link #CONTROLNET_PREFIX}, or ""
     *                         for files whose keys start at {@code input_blocks}
     */
    public static OriginalLayout of(List<ParamSpec> all, String controlnetPrefix) {
        // a parameter appears once per graph that uses it (the UNet's in the plain and the controlled graph)
        Map<String, ParamSpec> unique = new LinkedHashMap<>();
        all.forEach(p -> unique.putIfAbsent(p.component() + "." + p.key(), p));
        List<ParamSpec> params = List.copyOf(unique.values());
        OriginalLayout t = new OriginalLayout();
        Map<String, Set<String>> attentionBlocks = new LinkedHashMap<>();
        for (ParamSpec p : params) {
            Matcher m = UP_ATTENTION.matcher(p.key());
            if (m.lookingAt()) {
                attentionBlocks.computeIfAbsent(p.component(), c -> new HashSet<>()).add(m.group(1));
            }
        }
        Map<String, Integer> layers = layersPerBlock(params);
        Map<String, Integer> hintBlocks = new LinkedHashMap<>();
        for (ParamSpec p : params) {
            Matcher m = HINT_BLOCK.matcher(p.key());
            if (m.lookingAt()) {
                hintBlocks.merge(p.component(), Integer.parseInt(m.group(1)) + 1, Math::max);
            }
        }
        int vaeUpBlocks = (int) params.stream().filter(p -> p.component().equals(ModelGraphs.VAE))
                .map(p -> VAE_UP.matcher(p.key())).filter(Matcher::lookingAt).map(m -> m.group(1)).distinct().count();
        for (ParamSpec p : params) {
            String c = p.component();
            String key;
            long[] shape = p.shape();
            if (c.equals(ModelGraphs.UNET)) {
                key = UNET_PREFIX + unet(p.key(), layers.getOrDefault(c, 2), attentionBlocks.getOrDefault(c, Set.of()));
            } else if (c.startsWith("controlnet")) {
                key = controlnetPrefix + controlnet(p.key(), layers.getOrDefault(c, 2), hintBlocks.getOrDefault(c, 6));
            } else if (c.equals(ModelGraphs.TEXT_ENCODER)) {
                key = TEXT_ENCODER_PREFIX + p.key();
            } else if (c.equals(ModelGraphs.VAE)) {
                key = VAE_PREFIX + vae(p.key(), vaeUpBlocks);
                if (VAE_ATTENTION_WEIGHT.matcher(p.key()).matches() && shape.length == 2) {
                    shape = new long[] {shape[0], shape[1], 1, 1};
                }
            } else {
                throw new IllegalArgumentException("no original layout for component " + c);
            }
            Entry e = new Entry(p, key, shape);
            String id = c + "." + p.key();
            if (t.byOriginal.put(key, e) != null) {
                throw new IllegalStateException("two parameters map to " + key + ": the layout rules are inconsistent");
            }
            t.byParam.put(id, e);
        }
        return t;
    }

    /** The parameter an original key holds, or null when the key is not one of this model's. */
    public Entry byOriginal(String originalKey) {
        return byOriginal.get(originalKey);
    }

    /** Where a parameter is in an original file. */
    public Entry byParam(ParamSpec p) {
        return byParam.get(p.component() + "." + p.key());
    }

    public Map<String, Entry> entries() {
        return java.util.Collections.unmodifiableMap(byOriginal);
    }

    private static final Pattern HINT_BLOCK = Pattern.compile("controlnet_cond_embedding\\.blocks\\.(\\d+)\\.");
    private static final Pattern UP_ATTENTION = Pattern.compile("up_blocks\\.(\\d+)\\.attentions\\.");
    private static final Pattern VAE_UP = Pattern.compile("decoder\\.up_blocks\\.(\\d+)\\.");
    private static final Pattern VAE_ATTENTION_WEIGHT = Pattern.compile(".*mid_block\\.attentions\\.0\\.(to_q|to_k|to_v|to_out\\.0)\\.weight");
    private static final Pattern DOWN_LAYER = Pattern.compile("down_blocks\\.(\\d+)\\.(resnets|attentions)\\.(\\d+)\\.(.*)");
    private static final Pattern DOWNSAMPLER = Pattern.compile("down_blocks\\.(\\d+)\\.downsamplers\\.0\\.conv\\.(.*)");
    private static final Pattern UP_LAYER = Pattern.compile("up_blocks\\.(\\d+)\\.(resnets|attentions)\\.(\\d+)\\.(.*)");
    private static final Pattern UPSAMPLER = Pattern.compile("up_blocks\\.(\\d+)\\.upsamplers\\.0\\.conv\\.(.*)");
    private static final Pattern MID = Pattern.compile("mid_block\\.(resnets|attentions)\\.(\\d+)\\.(.*)");
    private static final Pattern ZERO_CONV = Pattern.compile("controlnet_down_blocks\\.(\\d+)\\.(.*)");
    private static final Pattern HINT_LAYER = Pattern.compile("controlnet_cond_embedding\\.blocks\\.(\\d+)\\.(.*)");
    private static final Pattern VAE_DOWN_RESNET = Pattern.compile("down_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\.(.*)");
    private static final Pattern VAE_UP_RESNET = Pattern.compile("up_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\.(.*)");
    private static final Pattern VAE_MID_RESNET = Pattern.compile("mid_block\\.resnets\\.(\\d+)\\.(.*)");

    /** Layers per block of each UNet-like component: the largest resnet index of its down blocks, plus one. */
    private static Map<String, Integer> layersPerBlock(List<ParamSpec> params) {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (ParamSpec p : params) {
            Matcher m = DOWN_LAYER.matcher(p.key());
            if (!p.component().equals(ModelGraphs.VAE) && m.matches()) {
                out.merge(p.component(), Integer.parseInt(m.group(3)) + 1, Math::max);
            }
        }
        return out;
    }

    static String unet(String key, int layers, Set<String> upBlocksWithAttention) {
        String encoder = encoder(key, layers);
        if (encoder != null) {
            return encoder;
        }
        Matcher m;
        if (key.startsWith("conv_norm_out.")) {
            return "out.0." + key.substring("conv_norm_out.".length());
        }
        if (key.startsWith("conv_out.")) {
            return "out.2." + key.substring("conv_out.".length());
        }
        if ((m = UP_LAYER.matcher(key)).matches()) {
            int n = Integer.parseInt(m.group(1)) * (layers + 1) + Integer.parseInt(m.group(3));
            return "output_blocks." + n + (m.group(2).equals("resnets") ? ".0." + resnet(m.group(4)) : ".1." + m.group(4));
        }
        if ((m = UPSAMPLER.matcher(key)).matches()) {
            int n = Integer.parseInt(m.group(1)) * (layers + 1) + layers;
            return "output_blocks." + n + (upBlocksWithAttention.contains(m.group(1)) ? ".2" : ".1") + ".conv." + m.group(2);
        }
        throw new IllegalArgumentException("no original name for the UNet parameter " + key);
    }

    /** The parts a UNet and its ControlNet copy share: time embedding, conv_in, encoder, middle block. */
    private static String encoder(String key, int layers) {
        Matcher m;
        if (key.startsWith("time_embedding.linear_1.")) {
            return "time_embed.0." + key.substring("time_embedding.linear_1.".length());
        }
        if (key.startsWith("time_embedding.linear_2.")) {
            return "time_embed.2." + key.substring("time_embedding.linear_2.".length());
        }
        if (key.startsWith("conv_in.")) {
            return "input_blocks.0.0." + key.substring("conv_in.".length());
        }
        if ((m = DOWN_LAYER.matcher(key)).matches()) {
            int n = 1 + Integer.parseInt(m.group(1)) * (layers + 1) + Integer.parseInt(m.group(3));
            return "input_blocks." + n + (m.group(2).equals("resnets") ? ".0." + resnet(m.group(4)) : ".1." + m.group(4));
        }
        if ((m = DOWNSAMPLER.matcher(key)).matches()) {
            return "input_blocks." + (Integer.parseInt(m.group(1)) + 1) * (layers + 1) + ".0.op." + m.group(2);
        }
        if ((m = MID.matcher(key)).matches()) {
            int i = m.group(1).equals("attentions") ? 1 : Integer.parseInt(m.group(2)) * 2;
            return "middle_block." + i + "." + (m.group(1).equals("resnets") ? resnet(m.group(3)) : m.group(3));
        }
        return null;
    }

    private static String resnet(String rest) {
        for (String[] r : RESNET) {
            if (rest.startsWith(r[0])) {
                return r[1] + rest.substring(r[0].length());
            }
        }
        throw new IllegalArgumentException("no original name for the resnet parameter " + rest);
    }

    private static final String[][] RESNET = {{"norm1.", "in_layers.0."}, {"conv1.", "in_layers.2."}, {"time_emb_proj.", "emb_layers.1."},
            {"norm2.", "out_layers.0."}, {"conv2.", "out_layers.3."}, {"conv_shortcut.", "skip_connection."}};

    /** @param hintBlocks the conditioning encoder's blocks between its conv_in and conv_out (6 in SD1.5) */
    static String controlnet(String key, int layers, int hintBlocks) {
        String encoder = encoder(key, layers);
        if (encoder != null) {
            return encoder;
        }
        Matcher m;
        if ((m = ZERO_CONV.matcher(key)).matches()) {
            return "zero_convs." + m.group(1) + ".0." + m.group(2);
        }
        if (key.startsWith("controlnet_mid_block.")) {
            return "middle_block_out.0." + key.substring("controlnet_mid_block.".length());
        }
        if (key.startsWith("controlnet_cond_embedding.conv_in.")) {
            return "input_hint_block.0." + key.substring("controlnet_cond_embedding.conv_in.".length());
        }
        if ((m = HINT_LAYER.matcher(key)).matches()) {
            return "input_hint_block." + (2 + 2 * Integer.parseInt(m.group(1))) + "." + m.group(2);
        }
        if (key.startsWith("controlnet_cond_embedding.conv_out.")) {
            // conv_in, the blocks and conv_out, each followed by an activation without weights
            return "input_hint_block." + (2 + 2 * hintBlocks) + "." + key.substring("controlnet_cond_embedding.conv_out.".length());
        }
        throw new IllegalArgumentException("no original name for the ControlNet parameter " + key);
    }

    static String vae(String key, int upBlocks) {
        Matcher m;
        for (String side : List.of("encoder.", "decoder.")) {
            if (!key.startsWith(side)) {
                continue;
            }
            String rest = key.substring(side.length());
            if (rest.startsWith("conv_norm_out.")) {
                return side + "norm_out." + rest.substring("conv_norm_out.".length());
            }
            if ((m = VAE_DOWN_RESNET.matcher(rest)).matches()) {
                return side + "down." + m.group(1) + ".block." + m.group(2) + "." + vaeResnet(m.group(3));
            }
            if ((m = DOWNSAMPLER.matcher(rest)).matches()) {
                return side + "down." + m.group(1) + ".downsample.conv." + m.group(2);
            }
            if ((m = VAE_UP_RESNET.matcher(rest)).matches()) {
                return side + "up." + (upBlocks - 1 - Integer.parseInt(m.group(1))) + ".block." + m.group(2) + "." + vaeResnet(m.group(3));
            }
            if ((m = UPSAMPLER.matcher(rest)).matches()) {
                return side + "up." + (upBlocks - 1 - Integer.parseInt(m.group(1))) + ".upsample.conv." + m.group(2);
            }
            if ((m = VAE_MID_RESNET.matcher(rest)).matches()) {
                return side + "mid.block_" + (Integer.parseInt(m.group(1)) + 1) + "." + vaeResnet(m.group(2));
            }
            if (rest.startsWith("mid_block.attentions.0.")) {
                String a = rest.substring("mid_block.attentions.0.".length());
                for (String[] r : VAE_ATTENTION) {
                    if (a.startsWith(r[0])) {
                        return side + "mid.attn_1." + r[1] + a.substring(r[0].length());
                    }
                }
            }
            return side + rest; // conv_in, conv_out keep their names
        }
        return key; // quant_conv, post_quant_conv
    }

    private static final String[][] VAE_ATTENTION = {{"group_norm.", "norm."}, {"to_q.", "q."}, {"to_k.", "k."}, {"to_v.", "v."},
            {"to_out.0.", "proj_out."}};

    private static String vaeResnet(String rest) {
        return rest.startsWith("conv_shortcut.") ? "nin_shortcut." + rest.substring("conv_shortcut.".length()) : rest;
    }

    /** The EMA copy's key of a UNet parameter's original key ({@code model.diffusion_model.X} to {@code model_ema.diffusion_modelX} without dots). */
    public static String emaKey(String originalUnetKey) {
        return EMA_PREFIX + originalUnetKey.substring("model.".length()).replace(".", "");
    }

    /** The original keys a file holds that are none of these: listed by the importer, never dropped silently. */
    public List<String> unknown(Set<String> fileKeys) {
        List<String> out = new ArrayList<>();
        for (String k : fileKeys) {
            if (!byOriginal.containsKey(k)) {
                out.add(k);
            }
        }
        return out;
    }
}
