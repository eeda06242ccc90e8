package dev.cnfarm.worker.render;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The render worker does not carry libtorch: none of the trainer's native libraries are on its class path. */
class NoTrainerOnTheWorkerTest {
    @Test
    void libtorchIsNotOnTheWorkersClassPath() {
        assertThatThrownBy(() -> Class.forName("org.bytedeco.pytorch.Tensor")).isInstanceOf(ClassNotFoundException.class);
        assertThatThrownBy(() -> Class.forName("org.bytedeco.javacpp.Loader")).isInstanceOf(ClassNotFoundException.class);
        assertThatThrownBy(() -> Class.forName("dev.cnfarm.trainer.torch.TorchNn")).isInstanceOf(ClassNotFoundException.class);
    }
}
