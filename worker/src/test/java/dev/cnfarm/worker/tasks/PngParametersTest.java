package dev.cnfarm.worker.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.proto.v1.RenderTask;
import org.junit.jupiter.api.Test;

/** The PNG's parameters text says which noise generator made the image, as A1111 writes it. */
class PngParametersTest {
    @Test
    void torchCpuNoiseIsWrittenAsA1111sRngSetting() {
        RenderTask t = RenderTask.newBuilder().setPrompt("a house").setSteps(20).setScheduler("euler_a").setGuidanceScale(7f).setSeed(3)
                .setWidth(64).setHeight(64).setModel("tiny").build();
        assertThat(TaskProcessor.parameters(t)).doesNotContain("RNG");
        assertThat(TaskProcessor.parameters(t.toBuilder().setNoise("torch_cpu").build())).endsWith(", RNG: CPU");
        assertThat(TaskProcessor.parameters(t.toBuilder().setNoise("cuda_philox").build())).endsWith(", RNG: NV");
    }
}
