package dev.cnfarm.models.arch;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * ControlNetModel settings: the UNet's encoder settings (a ControlNet is a trainable copy of the
 * UNet's encoder and middle block) plus its conditioning encoder, under diffusers' config keys.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ControlNetConfig(UNetConfig unet, int conditioningChannels, List<Integer> conditioningEmbeddingOutChannels) {

    /** lllyasviel's SD1.5 ControlNets (control_v11p_sd15_*). */
    public static ControlNetConfig sd15() {
        return new ControlNetConfig(UNetConfig.sd15(), 3, List.of(16, 32, 96, 256));
    }

    public static ControlNetConfig tiny() {
        return new ControlNetConfig(UNetConfig.tiny(), 3, List.of(8, 16, 16, 32));
    }

    /** The conditioning encoder downsamples the control image by 2 per step after the first. */
    public int imageToLatentFactor() {
        return 1 << (conditioningEmbeddingOutChannels.size() - 1);
    }
}
