package dev.cnfarm.worker.render;

import java.util.Map;

/**
 * A rendered image and how it was made.
 *
 * @param rgb             [3, H, W] in [0, 1]
 * @param timingsMs       phases of the render in milliseconds (text, steps, vae, ...)
 * @param controlledSteps steps that ran ControlNet (the others ran the plain UNet)
 */
public record RenderOutput(float[] rgb, Map<String, Long> timingsMs, int controlledSteps) {}
