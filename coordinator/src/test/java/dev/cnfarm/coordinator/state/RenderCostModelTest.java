package dev.cnfarm.coordinator.state;

import static org.assertj.core.api.Assertions.assertThat;

import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.Test;

/** Quotes learn each model's own cost, on each device. */
class RenderCostModelTest {
    @Test
    void aSmallModelIsNotQuotedAtALargeOnesCost() {
        RenderCostModel m = new RenderCostModel();
        assertThat(m.estimateSeconds("tiny", 16, 20, 256, 256))
                .isCloseTo(16 * 20 * 0.065536 * RenderCostModel.INITIAL_SECONDS_PER_STEP_MEGAPIXEL, Percentage.withPercentage(1e-6));
        m.add("sd15", "CPU cpu x2", 90.0);   // a full-size model on a CPU: 90 s per step and megapixel
        m.add("tiny", "CPU cpu x2", 0.02);
        m.add("tiny", "CPU cpu x2", 0.04);
        assertThat(m.estimateSeconds("tiny", 16, 20, 256, 256)).isCloseTo(16 * 20 * 0.065536 * 0.03, Percentage.withPercentage(1e-6));
        assertThat(m.estimateSeconds("sd15", 1, 20, 512, 512)).isCloseTo(20 * 0.262144 * 90.0, Percentage.withPercentage(1e-6));
        // a model not seen yet: the average of everything seen
        assertThat(m.estimateSeconds("shapes", 1, 10, 1000, 1000)).isCloseTo(10 * (90.0 + 0.02 + 0.04) / 3, Percentage.withPercentage(1e-6));
    }

    @Test
    void eachDeviceIsQuotedAtItsOwnCostAndTheHeadlineIsTheirMean() {
        RenderCostModel m = new RenderCostModel();
        m.add("sd15", "CPU cpu x2", 90.0);
        m.add("sd15", "CUDA NVIDIA H100", 0.3);
        m.add("sd15", "CUDA NVIDIA H100", 0.5);
        var byDevice = m.estimateSecondsByDevice("sd15", 10, 20, 512, 512);
        double work = 10 * 20 * 0.262144;
        assertThat(byDevice).containsOnlyKeys("CPU cpu x2", "CUDA NVIDIA H100");
        assertThat(byDevice.get("CUDA NVIDIA H100")).isCloseTo(work * 0.4, Percentage.withPercentage(1e-6));
        assertThat(byDevice.get("CPU cpu x2")).isCloseTo(work * 90.0, Percentage.withPercentage(1e-6));
        assertThat(m.estimateSeconds("sd15", 10, 20, 512, 512)).isCloseTo(work * (90.0 + 0.3 + 0.5) / 3, Percentage.withPercentage(1e-6));
        assertThat(m.estimateSecondsByDevice("tiny", 1, 20, 64, 64)).as("a model never rendered has no figures by device").isEmpty();
    }
}
