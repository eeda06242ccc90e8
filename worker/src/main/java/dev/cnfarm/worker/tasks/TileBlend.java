package dev.cnfarm.worker.tasks;

import java.util.List;

/**
 * A tiled upscale's last step: the rendered tiles placed at their offsets and averaged where they
 * overlap, each weighted by a ramp that rises from its inner edges across the overlap, so no tile's
 * border shows as a seam. Edges on the image's border are not ramped.
 */
final class TileBlend {
    /** One rendered tile: CHW in [0, 1], its offset and size on the final image. */
    record Placed(float[] chw, int x, int y, int width, int height) {}

    private TileBlend() {}

    static float[] blend(List<Placed> tiles, int width, int height, int overlap) {
        float[] sum = new float[3 * width * height];
        float[] weights = new float[width * height];
        for (Placed t : tiles) {
            int plane = t.width() * t.height();
            for (int j = 0; j < t.height(); j++) {
                double wy = ramp(j, t.height(), t.y() > 0, t.y() + t.height() < height, overlap);
                for (int i = 0; i < t.width(); i++) {
                    double wgt = wy * ramp(i, t.width(), t.x() > 0, t.x() + t.width() < width, overlap);
                    int at = (t.y() + j) * width + t.x() + i;
                    weights[at] += (float) wgt;
                    for (int c = 0; c < 3; c++) {
                        sum[c * width * height + at] += (float) (wgt * t.chw()[c * plane + j * t.width() + i]);
                    }
                }
            }
        }
        int pixels = width * height;
        for (int k = 0; k < sum.length; k++) {
            float w = weights[k % pixels];
            sum[k] = w > 0 ? sum[k] / w : 0f;
        }
        return sum;
    }

    /** A pixel's weight along one side of its tile: rising over {@code overlap} pixels from each inner edge, 1 elsewhere. */
    private static double ramp(int i, int n, boolean innerStart, boolean innerEnd, int overlap) {
        if (overlap <= 0) {
            return 1;
        }
        double w = 1;
        if (innerStart) {
            w = Math.min(w, (i + 0.5) / overlap);
        }
        if (innerEnd) {
            w = Math.min(w, (n - i - 0.5) / overlap);
        }
        return Math.max(1e-3, Math.min(1, w));
    }
}
