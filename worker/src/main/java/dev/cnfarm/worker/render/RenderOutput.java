package dev.cnfarm.worker.render;

import java.util.Map;

/**
 * A rendered image and how it was made.
 *
 * @param rgb             [3, H, W] in [0, 1]
 * @param timingsMs       phases of the render in milliseconds (text, steps, vae, ...); text and
 *                        steps are the whole batch's when the image was rendered in one
 * @param controlledSteps steps that ran ControlNet (the others ran the plain UNet)
 * @param batchSize       images the model computed together in each step (1: alone)
 */
public record RenderOutput(float[] rgb, Map<String, Long> timingsMs, int controlledSteps, int batchSize) {

    public RenderOutput(float[] rgb, Map<String, Long> timingsMs, int controlledSteps) {
        this(rgb, timingsMs, controlledSteps, 1);
    }
}
