package dev.cnfarm.trainer.data;

import java.util.Locale;

/**
 * The shapes of the generated data, each a signed distance function in its own frame: negative
 * inside, positive outside, in units of the shape's size (its circumscribed radius is about 1).
 * Rendering, outlines and the evaluation's classifier all use these functions.
 */
public enum ShapeKind {
    CIRCLE {
        @Override
        public double sdf(double x, double y) {
            return Math.hypot(x, y) - 1;
        }
    },
    SQUARE {
        @Override
        public double sdf(double x, double y) {
            return box(x, y, 0.78, 0.78);
        }
    },
    TRIANGLE {
        @Override
        public double sdf(double x, double y) {
            // equilateral, circumradius 1, a vertex up: three half-planes at distance 0.5 from the centre
            double d = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < 3; i++) {
                double a = Math.PI / 2 + Math.PI + 2 * Math.PI * i / 3; // outward normals point away from the vertices
                d = Math.max(d, x * Math.cos(a) + y * Math.sin(a) - 0.5);
            }
            return d;
        }
    },
    CROSS {
        @Override
        public double sdf(double x, double y) {
            return Math.min(box(x, y, 0.9, 0.3), box(x, y, 0.3, 0.9));
        }
    },
    SEMICIRCLE {
        @Override
        public double sdf(double x, double y) {
            // the upper half of a disc of radius 1, moved down so the shape is centred on its box
            double yy = y + 0.3;
            return Math.max(Math.hypot(x, yy) - 1, -yy);
        }
    };

    /** Signed distance at (x, y) in the shape's frame (y points up). */
    public abstract double sdf(double x, double y);

    /** Rotational symmetry: rotations by multiples of this angle give the same shape. */
    public double symmetry() {
        return switch (this) {
            case CIRCLE -> 2 * Math.PI;
            case SQUARE, CROSS -> Math.PI / 2;
            case TRIANGLE -> 2 * Math.PI / 3;
            case SEMICIRCLE -> 2 * Math.PI;
        };
    }

    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ShapeKind ofWord(String word) {
        return valueOf(word.toUpperCase(Locale.ROOT));
    }

    /** Exact signed distance to an axis-aligned box of half-sizes hx, hy. */
    static double box(double x, double y, double hx, double hy) {
        double dx = Math.abs(x) - hx;
        double dy = Math.abs(y) - hy;
        double outside = Math.hypot(Math.max(dx, 0), Math.max(dy, 0));
        return outside + Math.min(Math.max(dx, dy), 0);
    }
}
