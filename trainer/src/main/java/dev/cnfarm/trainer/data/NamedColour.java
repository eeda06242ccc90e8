package dev.cnfarm.trainer.data;

import java.util.Locale;

/**
 * The palette of the generated "shapes" data: twelve named colours, far enough apart in RGB that
 * the nearest palette colour of a rendered pixel names it. A caption uses the lower-case name.
 */
public enum NamedColour {
    RED(220, 40, 40),
    GREEN(40, 170, 60),
    BLUE(40, 80, 220),
    YELLOW(240, 220, 40),
    ORANGE(245, 140, 30),
    PURPLE(140, 60, 180),
    PINK(245, 150, 200),
    BROWN(130, 80, 40),
    BLACK(20, 20, 20),
    WHITE(240, 240, 240),
    GRAY(128, 128, 128),
    CYAN(40, 200, 220);

    private final int r;
    private final int g;
    private final int b;

    NamedColour(int r, int g, int b) {
        this.r = r;
        this.g = g;
        this.b = b;
    }

    public int r() {
        return r;
    }

    public int g() {
        return g;
    }

    public int b() {
        return b;
    }

    public int rgb() {
        return (r << 16) | (g << 8) | b;
    }

    /** The word in captions. */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The palette colour nearest to an RGB value (Euclidean distance in RGB). */
    public static NamedColour nearest(double red, double green, double blue) {
        NamedColour best = null;
        double bestD = Double.MAX_VALUE;
        for (NamedColour c : values()) {
            double d = (c.r - red) * (c.r - red) + (c.g - green) * (c.g - green) + (c.b - blue) * (c.b - blue);
            if (d < bestD) {
                bestD = d;
                best = c;
            }
        }
        return best;
    }

    public static NamedColour ofWord(String word) {
        return valueOf(word.toUpperCase(Locale.ROOT));
    }
}
