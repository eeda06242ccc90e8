package dev.cnfarm.cli.e2e;

import dev.cnfarm.common.testinfra.FarmTestInfra;
import org.testcontainers.junit.jupiter.Testcontainers;

/** End to end on Kafka and MinIO containers; skipped where no Docker engine runs. */
@Testcontainers(disabledWithoutDocker = true)
class ContainersEndToEndIT extends EndToEndContract {
    @Override
    protected FarmTestInfra startInfra() {
        return FarmTestInfra.containers();
    }
}
