package dev.cnfarm.worker.engine.noise;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/**
 * PyTorch's CPU generator, checked against values PyTorch prints (its documentation and tutorials:
 * {@code torch.manual_seed(0)} then {@code torch.randn(4, 4)} and {@code torch.randn(2, 3)}), and
 * the Mersenne Twister against its reference output.
 */
class TorchCpuGeneratorTest {
    /** {@code torch.manual_seed(0); torch.randn(4, 4)}, row by row. */
    private static final double[] SEED0_16 = {-1.1258, -1.1524, -0.2506, -0.4339, 0.8487, 0.6920, -0.3160, -2.1152,
            0.3223, -1.2633, 0.3500, 0.3081, 0.1198, 1.2377, 1.1168, -0.2473};

    @Test
    void theTwisterIsMt19937() {
        // std::mt19937's 10,000th output for the default seed 5489 is 4123659995 (the C++ standard's check)
        TorchCpuGenerator g = new TorchCpuGenerator(5489);
        long v = 0;
        for (int i = 0; i < 10_000; i++) {
            v = g.next32();
        }
        assertThat(v).isEqualTo(4123659995L);
    }

    @Test
    void sixteenValuesAreTorchsFloatPath() {
        float[] v = new TorchCpuGenerator(0).randn(16);
        for (int i = 0; i < 16; i++) {
            assertThat((double) v[i]).as("value %d", i).isCloseTo(SEED0_16[i], within(6e-5));
        }
    }

    @Test
    void aLatentStartsWithTheSameValues() {
        // [1, 4, 64, 64]: every uniform is drawn first, then each block of 16 transformed on its own
        float[] v = new TorchCpuGenerator(0).randn(4 * 64 * 64);
        for (int i = 0; i < 8; i++) {
            assertThat((double) v[i]).isCloseTo(SEED0_16[i], within(6e-5));
        }
    }

    @Test
    void fewerThanSixteenValuesTakeTheDoublePath() {
        // torch.manual_seed(0); torch.randn(2, 3)
        double[] expected = {1.5410, -0.2934, -2.1788, 0.5684, -1.0845, -1.3986};
        float[] v = new TorchCpuGenerator(0).randn(6);
        for (int i = 0; i < 6; i++) {
            assertThat((double) v[i]).as("value %d", i).isCloseTo(expected[i], within(6e-5));
        }
    }

    @Test
    void aCountThatIsNoMultipleOfSixteenRedrawsItsLastBlock() {
        TorchCpuGenerator a = new TorchCpuGenerator(7);
        float[] v = a.randn(20);
        // the first 4 values are those of the first block, whose last 12 were drawn again for the tail
        float[] block = new TorchCpuGenerator(7).randn(16);
        for (int i = 0; i < 4; i++) {
            assertThat(v[i]).isEqualTo(block[i]);
        }
        assertThat(v[4]).isNotEqualTo(block[4]);
        // and 16 more uniforms were used: the next draw starts 36 uniforms in
        TorchCpuGenerator b = new TorchCpuGenerator(7);
        for (int i = 0; i < 36; i++) {
            b.next32();
        }
        assertThat(a.next32()).isEqualTo(b.next32());
    }

    @Test
    void onlyTheLow32BitsOfASeedMatter() {
        assertThat(new TorchCpuGenerator(1L << 32 | 42).randn(64)).isEqualTo(new TorchCpuGenerator(42).randn(64));
    }
}
