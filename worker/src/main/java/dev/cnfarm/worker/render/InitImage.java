package dev.cnfarm.worker.render;

/**
 * The image a task starts from instead of noise alone: img2img, and inpainting with a mask.
 *
 * @param rgb      the image, CHW in [0, 1], at the task's size
 * @param strength the share of the sampling run from it (0: its VAE round trip; 1: from noise, as text to image)
 * @param mask     H x W in [0, 1], 1 where the image is repainted (blurred as the job asked); null: all of it
 */
public record InitImage(float[] rgb, float strength, float[] mask) {

    /**
     * The first step run of a sampling of {@code steps} steps: diffusers' rule, the first
     * {@code steps - floor(steps * strength)} are skipped (a hair of slack so that 0.3 x 10 is 3).
     */
    public int startStep(int steps) {
        int run = (int) Math.min(steps, Math.floor(steps * (double) strength + 1e-4));
        return steps - run;
    }

    /** Whether sampling starts from noise alone and keeps nothing of the image: strength 1 without a mask is text to image. */
    public boolean fromNoiseOnly() {
        return strength >= 1f && mask == null;
    }
}
