package dev.cnfarm.coordinator.state;

import static org.assertj.core.api.Assertions.assertThat;

import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.Test;

/** Quotes learn each model's own cost. */
class RenderCostModelTest {
    @Test
    void aSmallModelIsNotQuotedAtALargeOnesCost() {
        RenderCostModel m = new RenderCostModel();
        assertThat(m.estimateSeconds("tiny", 16, 20, 256, 256))
                .isCloseTo(16 * 20 * 0.065536 * RenderCostModel.INITIAL_SECONDS_PER_STEP_MEGAPIXEL, Percentage.withPercentage(1e-6));
        m.add("sd15", 90.0);   // a full-size model on a CPU: 90 s per step and megapixel
        m.add("tiny", 0.02);
        m.add("tiny", 0.04);
        assertThat(m.estimateSeconds("tiny", 16, 20, 256, 256)).isCloseTo(16 * 20 * 0.065536 * 0.03, Percentage.withPercentage(1e-6));
        assertThat(m.estimateSeconds("sd15", 1, 20, 512, 512)).isCloseTo(20 * 0.262144 * 90.0, Percentage.withPercentage(1e-6));
        // a model not seen yet: the average of everything seen
        assertThat(m.estimateSeconds("shapes", 1, 10, 1000, 1000)).isCloseTo(10 * (90.0 + 0.02 + 0.04) / 3, Percentage.withPercentage(1e-6));
    }
}
