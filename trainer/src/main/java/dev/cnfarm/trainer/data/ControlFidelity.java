package dev.cnfarm.trainer.data;

/**
 * How closely a generated image follows the control map it was rendered from, in the two numbers
 * the control evaluation reports:
 *
 * <ul>
 *   <li><b>mask IoU</b>: the pixels that differ from the image's own background colour (by
 *       {@link ShapeClassifier#SHAPE_DISTANCE} in RGB) against the shape the map was drawn from;</li>
 *   <li><b>edge F1</b>: the generated image's edges (the same Canny preprocessor the workers run)
 *       against the control map's edges, each edge pixel counting as matched when an edge pixel of
 *       the other lies within {@code tolerance} pixels (Chebyshev distance), the usual tolerance of
 *       edge benchmarks for maps that are a pixel or two off.</li>
 * </ul>
 */
public final class ControlFidelity {
    /** The tolerance of the edge match, in pixels. */
    public static final int EDGE_TOLERANCE = 2;

    /** Precision (generated edges near a control edge), recall (control edges near a generated edge) and F1. */
    public record EdgeScore(double precision, double recall, double f1, int generatedEdges, int controlEdges) {}

    private ControlFidelity() {}

    /** The IoU of the image's foreground (pixels far from its background colour) and {@code shape}. */
    public static double maskIou(int[] rgb, int size, boolean[] shape) {
        NamedColour bg = ShapeClassifier.background(rgb, size);
        int inter = 0;
        int union = 0;
        for (int i = 0; i < shape.length; i++) {
            boolean fg = ShapeClassifier.distance(rgb[i], bg) > ShapeClassifier.SHAPE_DISTANCE;
            if (fg && shape[i]) {
                inter++;
            }
            if (fg || shape[i]) {
                union++;
            }
        }
        return union == 0 ? 1 : (double) inter / union;
    }

    /** Edge pixels of an edge map (white on black): any channel above half. */
    public static boolean[] edges(int[] rgb) {
        boolean[] e = new boolean[rgb.length];
        for (int i = 0; i < rgb.length; i++) {
            int p = rgb[i];
            e[i] = Math.max((p >> 16) & 0xff, Math.max((p >> 8) & 0xff, p & 0xff)) > 127;
        }
        return e;
    }

    public static EdgeScore edgeF1(boolean[] generated, boolean[] control, int size, int tolerance) {
        boolean[] nearControl = dilate(control, size, tolerance);
        boolean[] nearGenerated = dilate(generated, size, tolerance);
        int g = 0;
        int gHit = 0;
        int c = 0;
        int cHit = 0;
        for (int i = 0; i < generated.length; i++) {
            if (generated[i]) {
                g++;
                if (nearControl[i]) {
                    gHit++;
                }
            }
            if (control[i]) {
                c++;
                if (nearGenerated[i]) {
                    cHit++;
                }
            }
        }
        // no edges on either side is a perfect match; edges on one side only match nothing
        double precision = g == 0 ? (c == 0 ? 1 : 0) : (double) gHit / g;
        double recall = c == 0 ? (g == 0 ? 1 : 0) : (double) cHit / c;
        double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return new EdgeScore(precision, recall, f1, g, c);
    }

    /** Every pixel within {@code r} (Chebyshev) of a set pixel: a separable max filter. */
    static boolean[] dilate(boolean[] m, int size, int r) {
        boolean[] rows = new boolean[m.length];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                boolean any = false;
                for (int dx = Math.max(0, x - r); dx <= Math.min(size - 1, x + r) && !any; dx++) {
                    any = m[y * size + dx];
                }
                rows[y * size + x] = any;
            }
        }
        boolean[] out = new boolean[m.length];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                boolean any = false;
                for (int dy = Math.max(0, y - r); dy <= Math.min(size - 1, y + r) && !any; dy++) {
                    any = rows[dy * size + x];
                }
                out[y * size + x] = any;
            }
        }
        return out;
    }
}
