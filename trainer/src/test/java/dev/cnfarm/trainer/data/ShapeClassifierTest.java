package dev.cnfarm.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The evaluation's classifier reads the data set's own pictures back, sharp or blurred. */
class ShapeClassifierTest {

    private static int[] blur(int[] rgb, int size, int radius) {
        int[] out = new int[rgb.length];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int r = 0;
                int g = 0;
                int b = 0;
                int n = 0;
                for (int dy = -radius; dy <= radius; dy++) {
                    for (int dx = -radius; dx <= radius; dx++) {
                        int xx = Math.max(0, Math.min(size - 1, x + dx));
                        int yy = Math.max(0, Math.min(size - 1, y + dy));
                        int p = rgb[yy * size + xx];
                        r += (p >> 16) & 0xff;
                        g += (p >> 8) & 0xff;
                        b += p & 0xff;
                        n++;
                    }
                }
                out[y * size + x] = ((r / n) << 16) | ((g / n) << 8) | (b / n);
            }
        }
        return out;
    }

    @Test
    void everyRenderedSceneIsReadBackSharpAndBlurred() {
        SplittableRandom rnd = new SplittableRandom(17);
        int size = 128;
        int n = 0;
        int blurredRight = 0;
        for (ShapeKind k : ShapeKind.values()) {
            for (int i = 0; i < 12; i++) {
                NamedColour c = NamedColour.values()[rnd.nextInt(12)];
                NamedColour bg = NamedColour.values()[(c.ordinal() + 1 + rnd.nextInt(11)) % 12];
                ShapeScene s = ShapeScene.random(k, c, bg, size, rnd);
                ShapeClassifier.Verdict v = ShapeClassifier.classify(s.render(), size);
                assertThat(v.background()).as("%s background", s.caption()).isEqualTo(bg);
                assertThat(v.shapeColour()).as("%s colour", s.caption()).isEqualTo(c);
                assertThat(v.kind()).as("%s kind (iou %.2f)", s.caption(), v.iou()).isEqualTo(k);
                ShapeClassifier.Verdict b = ShapeClassifier.classify(blur(s.render(), size, 2), size);
                n++;
                if (b.kind() == k && b.shapeColour() == c && b.background() == bg) {
                    blurredRight++;
                }
            }
        }
        // a 5x5 box blur (a soft generated image) is still read right nearly always
        assertThat(blurredRight).isGreaterThanOrEqualTo(n * 9 / 10);
    }

    @Test
    void anEmptyPictureHasNoShape() {
        int[] flat = new int[64 * 64];
        java.util.Arrays.fill(flat, NamedColour.BLUE.rgb());
        ShapeClassifier.Verdict v = ShapeClassifier.classify(flat, 64);
        assertThat(v.background()).isEqualTo(NamedColour.BLUE);
        assertThat(v.shapeColour()).isNull();
        assertThat(v.kind()).isNull();
    }
}
