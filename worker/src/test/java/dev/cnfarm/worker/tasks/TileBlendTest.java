package dev.cnfarm.worker.tasks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tiles feathered into one image: equal tiles give themselves back, different ones meet in a ramp, not a step. */
class TileBlendTest {
    private static float[] constant(int w, int h, float v) {
        float[] out = new float[3 * w * h];
        Arrays.fill(out, v);
        return out;
    }

    @Test
    void equalTilesGiveThemselvesBackAndTheImageIsCovered() {
        List<TileBlend.Placed> tiles = new ArrayList<>();
        for (int y : new int[] {0, 48, 64}) {
            for (int x : new int[] {0, 48, 64}) {
                tiles.add(new TileBlend.Placed(constant(64, 64, 0.25f), x, y, 64, 64));
            }
        }
        float[] out = TileBlend.blend(tiles, 128, 128, 16);
        for (float v : out) {
            assertThat(v).isCloseTo(0.25f, within(1e-6f));
        }
    }

    @Test
    void twoTilesMeetInARampAcrossTheirOverlapNotAStep() {
        float[] out = TileBlend.blend(List.of(new TileBlend.Placed(constant(64, 32, 0f), 0, 0, 64, 32),
                new TileBlend.Placed(constant(64, 32, 1f), 32, 0, 64, 32)), 96, 32, 32);
        float previous = out[0];
        float largestStep = 0;
        for (int x = 1; x < 96; x++) {
            largestStep = Math.max(largestStep, Math.abs(out[x] - previous));
            previous = out[x];
        }
        assertThat(out[0]).isEqualTo(0f);
        assertThat(out[95]).isEqualTo(1f);
        assertThat(largestStep).as("no seam: the change is spread over the overlap").isLessThan(0.1f);
    }
}
