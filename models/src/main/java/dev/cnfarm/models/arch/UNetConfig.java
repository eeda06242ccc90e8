package dev.cnfarm.models.arch;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * UNet2DConditionModel settings, under diffusers' config keys (the JSON form of this record reads
 * a diffusers {@code unet/config.json}). Only what SD1.5-architecture models use is modelled.
 *
 * @param attentionHeadDim number of attention heads (diffusers' historical misnomer: SD1.5's 8 is a head count)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record UNetConfig(
        int inChannels,
        int outChannels,
        List<Integer> blockOutChannels,
        List<String> downBlockTypes,
        List<String> upBlockTypes,
        int layersPerBlock,
        int attentionHeadDim,
        int crossAttentionDim,
        int normNumGroups,
        float normEps,
        boolean flipSinToCos,
        float freqShift) {

    public static final String CROSS_DOWN = "CrossAttnDownBlock2D";
    public static final String PLAIN_DOWN = "DownBlock2D";
    public static final String CROSS_UP = "CrossAttnUpBlock2D";
    public static final String PLAIN_UP = "UpBlock2D";

    /** Stable Diffusion 1.5 exactly (runwayml/stable-diffusion-v1-5 unet/config.json). */
    public static UNetConfig sd15() {
        return new UNetConfig(4, 4, List.of(320, 640, 1280, 1280),
                List.of(CROSS_DOWN, CROSS_DOWN, CROSS_DOWN, PLAIN_DOWN),
                List.of(PLAIN_UP, CROSS_UP, CROSS_UP, CROSS_UP),
                2, 8, 768, 32, 1e-5f, true, 0f);
    }

    /** A small model of the same architecture, fast on a CPU: for tests and the embedded default. */
    public static UNetConfig tiny() {
        return new UNetConfig(4, 4, List.of(32, 64, 64),
                List.of(CROSS_DOWN, CROSS_DOWN, PLAIN_DOWN),
                List.of(PLAIN_UP, CROSS_UP, CROSS_UP),
                1, 2, 32, 8, 1e-5f, true, 0f);
    }

    /** Channels of the time embedding: four times the first block's. */
    public int timeEmbedDim() {
        return 4 * blockOutChannels.get(0);
    }

    /** How much smaller the latent's sides must divide by: 2 per downsampling. */
    public int sizeMultiple() {
        return 1 << (blockOutChannels.size() - 1);
    }

    /** Checks that the settings describe a model this builder can make. */
    public UNetConfig validate() {
        int n = blockOutChannels.size();
        if (downBlockTypes.size() != n || upBlockTypes.size() != n) {
            throw new IllegalArgumentException("unet config: block_out_channels, down_block_types and up_block_types must have the same length");
        }
        for (String t : downBlockTypes) {
            if (!t.equals(CROSS_DOWN) && !t.equals(PLAIN_DOWN)) {
                throw new IllegalArgumentException("unet config: down block type '" + t + "' is not supported (use " + CROSS_DOWN + " or " + PLAIN_DOWN + ")");
            }
        }
        for (String t : upBlockTypes) {
            if (!t.equals(CROSS_UP) && !t.equals(PLAIN_UP)) {
                throw new IllegalArgumentException("unet config: up block type '" + t + "' is not supported (use " + CROSS_UP + " or " + PLAIN_UP + ")");
            }
        }
        for (int c : blockOutChannels) {
            if (c % normNumGroups != 0 || c % attentionHeadDim != 0) {
                throw new IllegalArgumentException("unet config: " + c + " channels must divide by norm_num_groups " + normNumGroups
                        + " and by the head count " + attentionHeadDim);
            }
        }
        return this;
    }
}
