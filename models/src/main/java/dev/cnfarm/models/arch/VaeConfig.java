package dev.cnfarm.models.arch;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/** AutoencoderKL settings under diffusers' config keys. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record VaeConfig(int inChannels, int outChannels, int latentChannels, List<Integer> blockOutChannels, int layersPerBlock,
                        int normNumGroups, float scalingFactor) {
    /** GroupNorm epsilon throughout the VAE. */
    public static final float EPS = 1e-6f;

    public static VaeConfig sd15() {
        return new VaeConfig(3, 3, 4, List.of(128, 256, 512, 512), 2, 32, 0.18215f);
    }

    /** Four blocks like SD1.5's, so the image is still 8 times the latent; few channels. */
    public static VaeConfig tiny() {
        return new VaeConfig(3, 3, 4, List.of(8, 16, 16, 16), 1, 8, 0.18215f);
    }

    public int downFactor() {
        return 1 << (blockOutChannels.size() - 1);
    }
}
