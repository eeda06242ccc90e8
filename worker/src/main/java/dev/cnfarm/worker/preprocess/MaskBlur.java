package dev.cnfarm.worker.preprocess;

/**
 * A Gaussian blur of an inpainting mask's edge (A1111's "mask blur"): the repainted region fades
 * into the kept one over about {@code pixels} pixels instead of a hard seam. Pixels the blur does
 * not reach keep their value, so the kept region stays exactly 0.
 */
public final class MaskBlur {
    private MaskBlur() {}

    /**
     * @param mask   H x W in [0, 1]
     * @param pixels the blur's standard deviation in pixels; 0 leaves the mask as it is
     */
    public static float[] blur(float[] mask, int w, int h, int pixels) {
        if (pixels <= 0) {
            return mask;
        }
        int radius = 3 * pixels;
        double[] kernel = new double[2 * radius + 1];
        double sum = 0;
        for (int i = -radius; i <= radius; i++) {
            kernel[i + radius] = Math.exp(-(double) i * i / (2.0 * pixels * pixels));
            sum += kernel[i + radius];
        }
        for (int i = 0; i < kernel.length; i++) {
            kernel[i] /= sum;
        }
        float[] rows = new float[mask.length];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double v = 0;
                for (int k = -radius; k <= radius; k++) {
                    int xx = Math.max(0, Math.min(w - 1, x + k)); // edges repeat
                    v += kernel[k + radius] * mask[y * w + xx];
                }
                rows[y * w + x] = (float) v;
            }
        }
        float[] out = new float[mask.length];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double v = 0;
                for (int k = -radius; k <= radius; k++) {
                    int yy = Math.max(0, Math.min(h - 1, y + k));
                    v += kernel[k + radius] * rows[yy * w + x];
                }
                // a value the float sum leaves a hair off 0 or 1 is 0 or 1: kept pixels stay exactly kept
                out[y * w + x] = v < 1e-6 ? 0f : v > 1 - 1e-6 ? 1f : (float) v;
            }
        }
        return out;
    }
}
