package dev.cnfarm.trainer.data;

import java.util.SplittableRandom;

/**
 * One image of the "shapes" data: a filled shape of a named colour on a background of another, at a
 * position, size and rotation. Rendering is anti-aliased from the shape's signed distance.
 *
 * @param cx     centre, in pixels from the left
 * @param cy     centre, in pixels from the top
 * @param radius the shape's size (its circumscribed radius) in pixels
 * @param angle  rotation, radians counter-clockwise
 * @param wobble seed of the scribble outline's wobble
 */
public record ShapeScene(ShapeKind kind, NamedColour colour, NamedColour background, int size, double cx, double cy, double radius,
                         double angle, long wobble) {

    /** The caption: {@code a red triangle on a blue background} ({@code an} before a vowel). */
    public String caption() {
        return caption(kind, colour, background);
    }

    public static String caption(ShapeKind kind, NamedColour colour, NamedColour background) {
        return article(colour.word()) + " " + colour.word() + " " + kind.word() + " on " + article(background.word()) + " "
                + background.word() + " background";
    }

    private static String article(String word) {
        return "aeiou".indexOf(word.charAt(0)) >= 0 ? "an" : "a";
    }

    /**
     * A random scene of the given kind and colours: the shape's size between 20 % and 35 % of the
     * image side (as a radius), wholly inside the image, any rotation.
     */
    public static ShapeScene random(ShapeKind kind, NamedColour colour, NamedColour background, int size, SplittableRandom rnd) {
        double radius = size * (0.20 + 0.15 * rnd.nextDouble());
        double margin = radius + size / 64.0;
        double cx = margin + (size - 2 * margin) * rnd.nextDouble();
        double cy = margin + (size - 2 * margin) * rnd.nextDouble();
        return new ShapeScene(kind, colour, background, size, cx, cy, radius, 2 * Math.PI * rnd.nextDouble(), rnd.nextLong());
    }

    /** Signed distance in pixels from the shape's edge at the centre of pixel (px, py). */
    public double distance(int px, int py) {
        double dx = px + 0.5 - cx;
        double dy = cy - (py + 0.5);
        double c = Math.cos(angle);
        double s = Math.sin(angle);
        double lx = (dx * c + dy * s) / radius;
        double ly = (-dx * s + dy * c) / radius;
        return kind.sdf(lx, ly) * radius;
    }

    /** The image, packed RGB ints row by row. */
    public int[] render() {
        int[] out = new int[size * size];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                double cover = Math.max(0, Math.min(1, 0.5 - distance(x, y)));
                out[y * size + x] = mix(background, colour, cover);
            }
        }
        return out;
    }

    /** Which pixels the shape covers at least half of. */
    public boolean[] mask() {
        boolean[] m = new boolean[size * size];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                m[y * size + x] = distance(x, y) < 0;
            }
        }
        return m;
    }

    /**
     * A scribble of the shape's outline, white on black: a stroke about 3 pixels wide (for a 128
     * image) that wobbles around the true edge, as a quick hand-drawn outline does.
     */
    public int[] scribble() {
        SplittableRandom rnd = new SplittableRandom(wobble);
        double p1 = 2 * Math.PI * rnd.nextDouble();
        double p2 = 2 * Math.PI * rnd.nextDouble();
        double scale = size / 128.0;
        double half = 1.5 * scale;
        int[] out = new int[size * size];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                double theta = Math.atan2(cy - (y + 0.5), x + 0.5 - cx);
                double w = scale * (1.2 * Math.sin(3 * theta + p1) + 0.8 * Math.sin(5 * theta + p2));
                double d = Math.abs(distance(x, y) + w);
                double ink = Math.max(0, Math.min(1, half + 0.5 - d));
                int v = (int) Math.round(255 * ink);
                out[y * size + x] = (v << 16) | (v << 8) | v;
            }
        }
        return out;
    }

    private static int mix(NamedColour a, NamedColour b, double t) {
        int r = (int) Math.round(a.r() * (1 - t) + b.r() * t);
        int g = (int) Math.round(a.g() * (1 - t) + b.g() * t);
        int bl = (int) Math.round(a.b() * (1 - t) + b.b() * t);
        return (r << 16) | (g << 8) | bl;
    }
}
