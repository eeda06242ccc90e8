package dev.cnfarm.worker.engine;

import dev.cnfarm.worker.output.PngEncoder;

/**
 * A cheap preview of a latent: each pixel's RGB as a fixed linear mix of the four SD1.5 latent
 * channels (the factors ComfyUI's Latent2RGB previewer uses), at latent resolution (64x64 for a
 * 512x512 image). No VAE run, so it costs microseconds.
 */
public final class LatentPreview {
    /** Rows are latent channels 0..3, columns R, G, B. */
    private static final float[][] FACTORS = {
            {0.3512f, 0.2297f, 0.3227f},
            {0.3250f, 0.4974f, 0.2350f},
            {-0.2829f, 0.1762f, 0.2721f},
            {-0.2120f, -0.2616f, -0.7177f}};

    private LatentPreview() {}

    /** @param latent [4, h, w] in model space (already times 0.18215) */
    public static byte[] png(float[] latent, int h, int w) {
        int plane = h * w;
        float[] rgb = new float[3 * plane];
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                float v = 0;
                for (int k = 0; k < 4; k++) {
                    v += latent[k * plane + p] * FACTORS[k][c];
                }
                // [-1, 1] to [0, 1]
                rgb[c * plane + p] = (Math.max(-1f, Math.min(1f, v)) + 1f) / 2f;
            }
        }
        return PngEncoder.encode(rgb, w, h, "preview");
    }
}
