package dev.cnfarm.worker.render;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SeededNoiseTest {
    @Test
    void noiseIsFixedBySeed() {
        assertThat(SeededNoise.gaussian(5, 100)).isEqualTo(SeededNoise.gaussian(5, 100));
        assertThat(SeededNoise.gaussian(5, 100)).isNotEqualTo(SeededNoise.gaussian(6, 100));
    }
}
