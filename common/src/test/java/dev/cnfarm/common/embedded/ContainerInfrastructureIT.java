package dev.cnfarm.common.embedded;

import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.common.testinfra.InfrastructureContract;
import org.testcontainers.junit.jupiter.Testcontainers;

/** The infrastructure contract on Kafka and MinIO containers; skipped where no Docker engine runs. */
@Testcontainers(disabledWithoutDocker = true)
class ContainerInfrastructureIT extends InfrastructureContract {
    @Override
    protected FarmTestInfra startInfra() {
        return FarmTestInfra.containers();
    }
}
