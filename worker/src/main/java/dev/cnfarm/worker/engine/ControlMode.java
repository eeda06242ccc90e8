package dev.cnfarm.worker.engine;

import java.util.Locale;

/**
 * How a ControlNet's residuals are weighed (the three modes of sd-webui-controlnet):
 * balanced (the scale on every residual, both guidance halves); prompt more important (the
 * scale ramped 0.825^(last - k) from shallow to deep residuals); ControlNet more important (the
 * same ramp, and no control on the unconditional half, so guidance amplifies it).
 */
public enum ControlMode {
    BALANCED, PROMPT, CONTROL;

    public static ControlMode of(String s) {
        if (s == null || s.isBlank()) {
            return BALANCED;
        }
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "balanced" -> BALANCED;
            case "prompt", "prompt_more_important" -> PROMPT;
            case "control", "controlnet", "controlnet_more_important" -> CONTROL;
            default -> throw new IllegalArgumentException("control mode '" + s + "' is not one of balanced, prompt, control");
        };
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
