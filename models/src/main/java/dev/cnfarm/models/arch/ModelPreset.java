package dev.cnfarm.models.arch;

import java.util.Locale;

/** A complete set of component settings: the UNet, its ControlNets, the text encoder and the VAE. */
public record ModelPreset(String name, UNetConfig unet, ControlNetConfig controlnet, ClipTextConfig textEncoder, VaeConfig vae) {

    /** Stable Diffusion 1.5 with SD1.5 ControlNets, at full size. */
    public static ModelPreset sd15() {
        return new ModelPreset("sd15", UNetConfig.sd15(), ControlNetConfig.sd15(), ClipTextConfig.sd15(), VaeConfig.sd15());
    }

    /** The same architecture, small: for tests and the embedded default. */
    public static ModelPreset tiny() {
        return new ModelPreset("tiny", UNetConfig.tiny(), ControlNetConfig.tiny(), ClipTextConfig.tiny(), VaeConfig.tiny());
    }

    /**
     * A preset from its JSON form ({@code name}, and {@code unet}, {@code controlnet},
     * {@code text_encoder}, {@code vae} under diffusers' config keys): how a trained model's
     * architecture travels with its weights ({@code model.json}).
     */
    public static ModelPreset read(java.nio.file.Path json) {
        try {
            ModelPreset p = dev.cnfarm.common.json.Json.mapper().readValue(json.toFile(), ModelPreset.class);
            p.unet().validate();
            return p;
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot read the model configuration " + json + ": " + e.getMessage().split("\n")[0], e);
        }
    }

    public void write(java.nio.file.Path json) {
        try {
            dev.cnfarm.common.json.Json.mapper().writerWithDefaultPrettyPrinter().writeValue(json.toFile(), this);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + json, e);
        }
    }

    /** UNet input channels of an inpainting UNet: the noisy latent (4), the mask (1) and the masked image's latent (4). */
    public static final int INPAINTING_CHANNELS = 9;

    /**
     * The same architecture with an inpainting UNet: 9 input channels (latent, mask, masked
     * image's latent), as runwayml's sd-v1-5-inpainting. Its ControlNets keep their 4-channel
     * input and see the noisy latent alone.
     */
    public ModelPreset inpainting() {
        if (isInpainting()) {
            return this;
        }
        UNetConfig u = unet;
        return new ModelPreset(name + "-inpainting", new UNetConfig(INPAINTING_CHANNELS, u.outChannels(), u.blockOutChannels(),
                u.downBlockTypes(), u.upBlockTypes(), u.layersPerBlock(), u.attentionHeadDim(), u.crossAttentionDim(), u.normNumGroups(),
                u.normEps(), u.flipSinToCos(), u.freqShift()), controlnet, textEncoder, vae);
    }

    @com.fasterxml.jackson.annotation.JsonIgnore // derived from the UNet's channels, not a field of the written form
    public boolean isInpainting() {
        return unet.inChannels() == INPAINTING_CHANNELS;
    }

    public static ModelPreset named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "sd15" -> sd15();
            case "tiny" -> tiny();
            case "sd15-inpainting" -> sd15().inpainting();
            case "tiny-inpainting" -> tiny().inpainting();
            default -> throw new IllegalArgumentException("unknown preset '" + name + "'; use sd15, tiny, sd15-inpainting or tiny-inpainting");
        };
    }
}
