package dev.cnfarm.trainer.data;

import java.util.EnumMap;
import java.util.Map;

/**
 * Reads back what a picture of the shapes data shows, for scoring generated images: the
 * background's colour (the palette colour most of the border pixels are nearest to), the shape's
 * colour (the palette colour nearest to the mean of the pixels inside the shape, away from its
 * edge) and the shape's kind (the kind whose ideal outline, scaled to the same area, centred on the
 * same point and turned to the best angle, overlaps the shape's pixels most: intersection over
 * union). The shape's pixels are those whose colour differs clearly from the background colour.
 */
public final class ShapeClassifier {
    /** RGB distance from the background colour beyond which a pixel belongs to the shape. */
    static final double SHAPE_DISTANCE = 60;
    /** Angle step of the rotation search, in degrees. */
    static final int ANGLE_STEP = 4;
    private static final Map<ShapeKind, Double> UNIT_AREA = new EnumMap<>(ShapeKind.class);

    static {
        // the area of each kind at size 1, measured on a fine grid
        int n = 800;
        for (ShapeKind k : ShapeKind.values()) {
            long inside = 0;
            for (int y = 0; y < n; y++) {
                for (int x = 0; x < n; x++) {
                    if (k.sdf(-1.2 + 2.4 * (x + 0.5) / n, -1.2 + 2.4 * (y + 0.5) / n) < 0) {
                        inside++;
                    }
                }
            }
            UNIT_AREA.put(k, inside * (2.4 * 2.4) / ((double) n * n));
        }
    }

    /**
     * @param iou         the best kind's overlap with the shape (0 when there is no shape)
     * @param shapePixels how many pixels differ from the background
     */
    public record Verdict(NamedColour background, NamedColour shapeColour, ShapeKind kind, double iou, int shapePixels) {}

    private ShapeClassifier() {}

    public static Verdict classify(int[] rgb, int size) {
        NamedColour background = background(rgb, size);
        boolean[] mask = new boolean[size * size];
        int count = 0;
        for (int i = 0; i < mask.length; i++) {
            if (distance(rgb[i], background) > SHAPE_DISTANCE) {
                mask[i] = true;
                count++;
            }
        }
        if (count < 8) {
            return new Verdict(background, null, null, 0, count);
        }
        return fit(new Verdict(background, shapeColour(rgb, mask, size), null, 0, count), mask, size, count);
    }

    static NamedColour background(int[] rgb, int size) {
        int[] votes = new int[NamedColour.values().length];
        for (int i = 0; i < size; i++) {
            for (int band = 0; band < 2; band++) {
                vote(votes, rgb[band * size + i]);
                vote(votes, rgb[(size - 1 - band) * size + i]);
                vote(votes, rgb[i * size + band]);
                vote(votes, rgb[i * size + size - 1 - band]);
            }
        }
        int best = 0;
        for (int c = 1; c < votes.length; c++) {
            if (votes[c] > votes[best]) {
                best = c;
            }
        }
        return NamedColour.values()[best];
    }

    private static void vote(int[] votes, int p) {
        votes[NamedColour.nearest((p >> 16) & 0xff, (p >> 8) & 0xff, p & 0xff).ordinal()]++;
    }

    /** The mean of the shape's interior pixels (all 8 neighbours in the shape too), or of all of them when it is thin. */
    static NamedColour shapeColour(int[] rgb, boolean[] mask, int size) {
        double[] sum = new double[3];
        int n = 0;
        for (int pass = 0; pass < 2 && n == 0; pass++) {
            for (int y = 1; y < size - 1; y++) {
                for (int x = 1; x < size - 1; x++) {
                    int i = y * size + x;
                    if (!mask[i] || (pass == 0 && !interior(mask, size, x, y))) {
                        continue;
                    }
                    sum[0] += (rgb[i] >> 16) & 0xff;
                    sum[1] += (rgb[i] >> 8) & 0xff;
                    sum[2] += rgb[i] & 0xff;
                    n++;
                }
            }
        }
        return n == 0 ? null : NamedColour.nearest(sum[0] / n, sum[1] / n, sum[2] / n);
    }

    private static boolean interior(boolean[] mask, int size, int x, int y) {
        for (int dy = -1; dy <= 1; dy++) {
            for (int dx = -1; dx <= 1; dx++) {
                if (!mask[(y + dy) * size + x + dx]) {
                    return false;
                }
            }
        }
        return true;
    }

    static double distance(int p, NamedColour c) {
        double dr = ((p >> 16) & 0xff) - c.r();
        double dg = ((p >> 8) & 0xff) - c.g();
        double db = (p & 0xff) - c.b();
        return Math.sqrt(dr * dr + dg * dg + db * db);
    }

    /** The best-fitting kind by intersection over union with each kind's ideal outline. */
    static Verdict fit(Verdict v, boolean[] mask, int size, int count) {
        double mx = 0;
        double my = 0;
        int minX = size;
        int minY = size;
        int maxX = 0;
        int maxY = 0;
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                if (mask[y * size + x]) {
                    mx += x + 0.5;
                    my += y + 0.5;
                    minX = Math.min(minX, x);
                    maxX = Math.max(maxX, x);
                    minY = Math.min(minY, y);
                    maxY = Math.max(maxY, y);
                }
            }
        }
        mx /= count;
        my /= count;
        ShapeKind best = null;
        double bestIou = -1;
        for (ShapeKind k : ShapeKind.values()) {
            double radius = Math.sqrt(count / UNIT_AREA.get(k));
            int steps = Math.max(1, (int) Math.round(Math.toDegrees(k.symmetry()) / ANGLE_STEP));
            if (k == ShapeKind.CIRCLE) {
                steps = 1;
            }
            for (int s = 0; s < steps; s++) {
                double angle = k.symmetry() * s / steps;
                double iou = iou(mask, size, count, k, radius, angle, mx, my);
                if (iou > bestIou) {
                    bestIou = iou;
                    best = k;
                }
            }
        }
        return new Verdict(v.background(), v.shapeColour(), best, bestIou, count);
    }

    /** IoU of the mask with the ideal shape whose centroid is put on the mask's centroid. */
    private static double iou(boolean[] mask, int size, int count, ShapeKind k, double radius, double angle, double mx, double my) {
        // the ideal shape's own centroid (not its frame's origin for the semicircle), rotated
        double[] off = centroidOffset(k, angle);
        double cx = mx - off[0] * radius;
        double cy = my + off[1] * radius;
        double c = Math.cos(angle);
        double s = Math.sin(angle);
        int inter = 0;
        int ideal = 0;
        int reach = (int) Math.ceil(radius * 1.3) + 2;
        int x0 = Math.max(0, (int) (cx - reach));
        int x1 = Math.min(size - 1, (int) (cx + reach));
        int y0 = Math.max(0, (int) (cy - reach));
        int y1 = Math.min(size - 1, (int) (cy + reach));
        for (int y = y0; y <= y1; y++) {
            for (int x = x0; x <= x1; x++) {
                double dx = x + 0.5 - cx;
                double dy = cy - (y + 0.5);
                double lx = (dx * c + dy * s) / radius;
                double ly = (-dx * s + dy * c) / radius;
                if (k.sdf(lx, ly) < 0) {
                    ideal++;
                    if (mask[y * size + x]) {
                        inter++;
                    }
                }
            }
        }
        int union = count + ideal - inter;
        return union == 0 ? 0 : (double) inter / union;
    }

    private static final Map<ShapeKind, double[]> CENTROIDS = new EnumMap<>(ShapeKind.class);

    static {
        int n = 600;
        for (ShapeKind k : ShapeKind.values()) {
            double sx = 0;
            double sy = 0;
            long m = 0;
            for (int y = 0; y < n; y++) {
                for (int x = 0; x < n; x++) {
                    double lx = -1.2 + 2.4 * (x + 0.5) / n;
                    double ly = -1.2 + 2.4 * (y + 0.5) / n;
                    if (k.sdf(lx, ly) < 0) {
                        sx += lx;
                        sy += ly;
                        m++;
                    }
                }
            }
            CENTROIDS.put(k, new double[] {sx / m, sy / m});
        }
    }

    /** The centroid of a kind at size 1 in its frame, rotated by {@code angle} (y up). */
    private static double[] centroidOffset(ShapeKind k, double angle) {
        double[] c = CENTROIDS.get(k);
        double cos = Math.cos(angle);
        double sin = Math.sin(angle);
        return new double[] {c[0] * cos - c[1] * sin, c[0] * sin + c[1] * cos};
    }
}
