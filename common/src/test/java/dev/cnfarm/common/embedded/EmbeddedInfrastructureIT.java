package dev.cnfarm.common.embedded;

import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.common.testinfra.InfrastructureContract;
import java.nio.file.Files;

/** The infrastructure contract on the embedded KRaft broker and S3Proxy server. */
class EmbeddedInfrastructureIT extends InfrastructureContract {
    @Override
    protected FarmTestInfra startInfra() throws Exception {
        return FarmTestInfra.embedded(Files.createTempDirectory("farm-embedded-it"));
    }
}
