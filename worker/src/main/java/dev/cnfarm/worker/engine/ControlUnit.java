package dev.cnfarm.worker.engine;

/**
 * One ControlNet's input for an image.
 *
 * @param image control image [3, H, W] in [0, 1], at the output size
 * @param start first fraction of the steps with control (0..1)
 * @param end   last fraction of the steps with control (0..1)
 */
public record ControlUnit(float[] image, float scale, float start, float end, ControlMode mode) {

    /** Whether step {@code i} of {@code n} is inside the window (diffusers' controlnet_keep). */
    public boolean activeAt(int i, int n) {
        return !((double) i / n < start || (double) (i + 1) / n > end) && scale != 0;
    }
}
