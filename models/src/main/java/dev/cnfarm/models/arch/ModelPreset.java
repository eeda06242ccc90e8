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

    public static ModelPreset named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "sd15" -> sd15();
            case "tiny" -> tiny();
            default -> throw new IllegalArgumentException("unknown preset '" + name + "'; use sd15 or tiny");
        };
    }
}
