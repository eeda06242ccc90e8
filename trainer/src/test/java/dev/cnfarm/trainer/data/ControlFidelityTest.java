package dev.cnfarm.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The control evaluation's scores on images whose answers are known. */
class ControlFidelityTest {
    private static final int SIZE = 128;

    private static ShapeScene scene(long seed) {
        return ShapeScene.random(ShapeKind.SQUARE, NamedColour.RED, NamedColour.BLUE, SIZE, new SplittableRandom(seed));
    }

    @Test
    void theDrawnSceneMatchesItsOwnMapAndAnotherSceneDoesNot() {
        ShapeScene s = scene(1);
        ShapeScene other = ShapeScene.random(ShapeKind.CIRCLE, NamedColour.RED, NamedColour.BLUE, SIZE, new SplittableRandom(99));
        assertThat(ControlFidelity.maskIou(s.render(), SIZE, s.mask())).isGreaterThan(0.97);
        assertThat(ControlFidelity.maskIou(other.render(), SIZE, s.mask())).isLessThan(0.6);

        boolean[] control = canny(s);
        assertThat(ControlFidelity.edgeF1(canny(s), control, SIZE, 2).f1()).isCloseTo(1.0, within(1e-9));
        assertThat(ControlFidelity.edgeF1(canny(other), control, SIZE, 2).f1()).isLessThan(0.5);
    }

    @Test
    void edgesWithinTheToleranceCountAndFartherOnesDoNot() {
        boolean[] a = new boolean[SIZE * SIZE];
        boolean[] near = new boolean[SIZE * SIZE];
        boolean[] far = new boolean[SIZE * SIZE];
        for (int x = 10; x < 110; x++) {
            a[40 * SIZE + x] = true;
            near[42 * SIZE + x] = true;
            far[43 * SIZE + x] = true;
        }
        assertThat(ControlFidelity.edgeF1(near, a, SIZE, 2).f1()).isEqualTo(1.0);
        assertThat(ControlFidelity.edgeF1(far, a, SIZE, 2).f1()).isZero();
        ControlFidelity.EdgeScore half = ControlFidelity.edgeF1(or(near, far), a, SIZE, 2);
        assertThat(half.precision()).isCloseTo(0.5, within(1e-9));
        assertThat(half.recall()).isEqualTo(1.0);
        assertThat(ControlFidelity.edgeF1(new boolean[SIZE * SIZE], a, SIZE, 2).f1()).as("no edges at all").isZero();
    }

    @Test
    void aFlatImageHasNoForeground() {
        ShapeScene s = scene(2);
        int[] flat = new int[SIZE * SIZE];
        java.util.Arrays.fill(flat, (NamedColour.BLUE.r() << 16) | (NamedColour.BLUE.g() << 8) | NamedColour.BLUE.b());
        assertThat(ControlFidelity.maskIou(flat, SIZE, s.mask())).isZero();
    }

    private static boolean[] canny(ShapeScene s) {
        byte[] png = ShapesDataset.canny(Images.png(s.render(), SIZE, SIZE), SIZE);
        return ControlFidelity.edges(Images.decode(png).pixels());
    }

    private static boolean[] or(boolean[] a, boolean[] b) {
        boolean[] o = new boolean[a.length];
        for (int i = 0; i < a.length; i++) {
            o[i] = a[i] || b[i];
        }
        return o;
    }
}
