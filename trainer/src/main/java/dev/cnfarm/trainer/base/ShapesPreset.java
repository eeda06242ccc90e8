package dev.cnfarm.trainer.base;

import dev.cnfarm.models.arch.ClipTextConfig;
import dev.cnfarm.models.arch.ControlNetConfig;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.arch.UNetConfig;
import dev.cnfarm.models.arch.VaeConfig;
import dev.cnfarm.models.tokenizer.ClipVocabulary;
import dev.cnfarm.trainer.data.NamedColour;
import dev.cnfarm.trainer.data.ShapeKind;
import java.util.ArrayList;
import java.util.List;

/**
 * The "shapes" model: the SD1.5 architecture at a size that trains on two CPU cores in about two
 * hours, for 128x128 images of the generated shapes data (a 16x16x4 latent).
 *
 * <ul>
 *   <li>Tokenizer: CLIP's byte-level BPE with a merge list that makes every caption word one token
 *       and the special tokens right after (a vocabulary of a few hundred ids, not 49,408).</li>
 *   <li>Text encoder: 2 layers, width 64, 2 heads.</li>
 *   <li>UNet: channels 48/96/96, one resnet per level, cross-attention at 8x8, 4x4 and the middle
 *       (attention at 16x16 nearly doubles a step's cost), 4 heads, GroupNorm of 8 groups.</li>
 *   <li>VAE: channels 16/32/64/64 (8x down), one resnet per level, GroupNorm of 2 groups: flat
 *       colours need about 8 channels per group, which the generated {@code tiny} preset's VAE
 *       (2 per group) does not have. Its scaling factor is measured on its own latents.</li>
 * </ul>
 */
public final class ShapesPreset {
    public static final String NAME = "shapes";
    public static final int IMAGE_SIZE = 128;

    private ShapesPreset() {}

    /** Caption words, most frequent first (the order fixes the merges and so the token ids). */
    public static List<String> words() {
        List<String> w = new ArrayList<>(List.of("a", "on", "background", "an"));
        for (NamedColour c : NamedColour.values()) {
            w.add(c.word());
        }
        for (ShapeKind k : ShapeKind.values()) {
            w.add(k.word());
        }
        return w;
    }

    public static ClipVocabulary vocabulary() {
        return ClipVocabulary.compact(ClipVocabulary.mergesForWords(words()));
    }

    public static UNetConfig unet() {
        return new UNetConfig(4, 4, List.of(48, 96, 96),
                List.of(UNetConfig.PLAIN_DOWN, UNetConfig.CROSS_DOWN, UNetConfig.CROSS_DOWN),
                List.of(UNetConfig.CROSS_UP, UNetConfig.CROSS_UP, UNetConfig.PLAIN_UP),
                1, 4, 64, 8, 1e-5f, true, 0f).validate();
    }

    public static ClipTextConfig textEncoder() {
        return new ClipTextConfig(vocabulary().size(), 64, 256, 2, 2, 77, 1e-5f);
    }

    /** @param scalingFactor 1 / the standard deviation of the trained VAE's latents */
    public static VaeConfig vae(float scalingFactor) {
        return new VaeConfig(3, 3, 4, List.of(16, 32, 64, 64), 1, 2, scalingFactor);
    }

    public static ControlNetConfig controlnet() {
        return new ControlNetConfig(unet(), 3, List.of(16, 32, 32, 64));
    }

    public static ModelPreset preset(float scalingFactor) {
        return new ModelPreset(NAME, unet(), controlnet(), textEncoder(), vae(scalingFactor));
    }
}
