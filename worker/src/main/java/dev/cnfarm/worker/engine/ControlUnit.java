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
        // compared as the decimals the user wrote (0.3f is 0.30000001...; 0.3 was meant)
        double s = Double.parseDouble(Float.toString(start));
        double e = Double.parseDouble(Float.toString(end));
        return !((double) i / n < s || (double) (i + 1) / n > e) && scale != 0;
    }
}
