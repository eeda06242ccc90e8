package dev.cnfarm.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.common.config.ConfigException;
import dev.cnfarm.common.config.WorkerSettings;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** This build has ONNX Runtime's CPU provider only: asking for CUDA falls back, or refuses when required. */
class ExecutionProvidersTest {
    private static WorkerSettings settings(Map<String, String> flags) {
        return ConfigLoader.defaults(flags).worker();
    }

    @Test
    void cpuByDefault() {
        assertThat(ExecutionProviders.select(settings(Map.of())).name()).isEqualTo("CPU");
    }

    @Test
    void cudaWithoutTheGpuBuildFallsBackToCpuWithTheReason() {
        assertThat(ExecutionProviders.cudaProblem(0)).contains("-Pcuda");
        assertThat(ExecutionProviders.select(settings(Map.of("worker.execution-provider", "cuda"))).name()).isEqualTo("CPU");
    }

    @Test
    void requiredCudaRefusesToStart() {
        assertThatThrownBy(() -> ExecutionProviders.select(settings(Map.of("worker.execution-provider", "cuda", "worker.require-cuda", "true"))))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("worker.require-cuda").hasMessageContaining("-Pcuda");
    }

    @Test
    void unknownProviderIsAConfigError() {
        assertThatThrownBy(() -> settings(Map.of("worker.execution-provider", "tpu")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("cpu or cuda");
        assertThatThrownBy(() -> settings(Map.of("worker.graph-optimization", "max")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("all, extended, basic or none");
    }
}
