package dev.cnfarm.cli.e2e;

import dev.cnfarm.common.testinfra.FarmTestInfra;
import java.nio.file.Files;

/** End to end on the embedded KRaft broker and S3Proxy server. */
class EmbeddedEndToEndIT extends EndToEndContract {
    @Override
    protected FarmTestInfra startInfra() throws Exception {
        return FarmTestInfra.embedded(Files.createTempDirectory("e2e"));
    }
}
