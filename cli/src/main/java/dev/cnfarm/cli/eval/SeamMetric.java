package dev.cnfarm.cli.eval;

import java.awt.image.BufferedImage;
import java.util.List;

/**
 * Whether tiles show where they meet: the mean absolute difference between neighbouring pixels
 * across the given border lines (columns and rows alike), over the same mean everywhere at least
 * 3 pixels away from them. About 1 for an image without seams. The tiled upscale's test and
 * benchmark measure its blends with it.
 */
public final class SeamMetric {
    private SeamMetric() {}

    /** @param borders the x (and y) positions where a tile starts or ends */
    public static double ratio(BufferedImage img, List<Integer> borders) {
        int w = img.getWidth();
        int h = img.getHeight();
        int[] rgb = img.getRGB(0, 0, w, h, null, 0, w);
        double seam = 0;
        long seamN = 0;
        double rest = 0;
        long restN = 0;
        for (int y = 0; y < h; y++) {
            for (int x = 1; x < w; x++) {
                double dx = diff(rgb[y * w + x], rgb[y * w + x - 1]);
                final int column = x;
                if (borders.contains(x)) {
                    seam += dx;
                    seamN++;
                } else if (borders.stream().allMatch(b -> Math.abs(b - column) >= 3)) {
                    rest += dx;
                    restN++;
                }
            }
        }
        for (int y = 1; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double dy = diff(rgb[y * w + x], rgb[(y - 1) * w + x]);
                final int row = y;
                if (borders.contains(y)) {
                    seam += dy;
                    seamN++;
                } else if (borders.stream().allMatch(b -> Math.abs(b - row) >= 3)) {
                    rest += dy;
                    restN++;
                }
            }
        }
        return (seam / seamN) / Math.max(1e-9, rest / restN);
    }

    private static double diff(int a, int b) {
        return (Math.abs(((a >> 16) & 0xff) - ((b >> 16) & 0xff)) + Math.abs(((a >> 8) & 0xff) - ((b >> 8) & 0xff))
                + Math.abs((a & 0xff) - (b & 0xff))) / 3.0;
    }
}
