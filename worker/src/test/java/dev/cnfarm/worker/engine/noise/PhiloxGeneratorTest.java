package dev.cnfarm.worker.engine.noise;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Philox4x32-10 against the known-answer vectors of its authors (Random123), and the normals made from it. */
class PhiloxGeneratorTest {
    @Test
    void theBlockFunctionMatchesTheKnownAnswers() {
        assertThat(PhiloxGenerator.philox(0, 0, 0, 0, 0, 0)).containsExactly(0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8);
        assertThat(PhiloxGenerator.philox(-1, -1, -1, -1, -1, -1)).containsExactly(0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd);
        assertThat(PhiloxGenerator.philox(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0))
                .containsExactly(0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1);
    }

    @Test
    void drawsAreStandardNormalRepeatableAndMoveOn() {
        PhiloxGenerator g = new PhiloxGenerator(1234);
        float[] a = g.randn(4 * 64 * 64);
        float[] b = g.randn(4 * 64 * 64);
        assertThat(new PhiloxGenerator(1234).randn(4 * 64 * 64)).isEqualTo(a);
        assertThat(b).as("the offset moves on by one per draw").isNotEqualTo(a);
        double mean = 0;
        double sq = 0;
        for (float v : a) {
            mean += v;
            sq += v * v;
        }
        mean /= a.length;
        assertThat(mean).isCloseTo(0, within(0.05));
        assertThat(Math.sqrt(sq / a.length - mean * mean)).isCloseTo(1, within(0.05));
        // the value at index i depends on i alone, not on the draw's size
        assertThat(new PhiloxGenerator(1234).randn(10)).containsExactly(java.util.Arrays.copyOf(a, 10));
    }
}
