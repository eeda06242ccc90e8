package dev.cnfarm.worker.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GpuMemoryTest {
    @Test
    void readsNvidiaSmisTotalAndUsedInMebibytes() {
        assertThat(GpuMemory.parse("81559, 1234\n")).contains(new GpuMemory.Reading(81559L << 20, 1234L << 20));
    }

    @Test
    void anythingElseIsNoReading() {
        assertThat(GpuMemory.parse("")).isEmpty();
        assertThat(GpuMemory.parse("No devices were found")).isEmpty();
        assertThat(GpuMemory.parse("[N/A], [N/A]")).isEmpty();
    }

    @Test
    void theCpuProviderHasNoGpuToRead() {
        assertThat(GpuMemory.forProvider("cpu", 0).read()).isEmpty();
    }
}
