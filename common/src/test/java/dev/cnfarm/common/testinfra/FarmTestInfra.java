package dev.cnfarm.common.testinfra;

import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.embedded.LocalInfrastructure;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A Kafka broker and an S3 server for integration tests, with the farm's topics and bucket
 * created: either embedded in this JVM (always available) or in Docker containers through
 * Testcontainers (where a Docker engine runs). Tests written against this interface run on both.
 */
public interface FarmTestInfra extends AutoCloseable {

    /** The farm configuration pointed at this infrastructure. */
    FarmConfig config();

    /** A short lock so that tests of redelivery do not wait 30 s. */
    Map<String, String> TEST_SETTINGS = Map.of(
            "kafka.partitions", "3",
            "kafka.task-lock-ms", "5000");

    static FarmConfig testConfig(Map<String, String> extra) {
        Map<String, String> all = new HashMap<>(TEST_SETTINGS);
        all.putAll(extra);
        return ConfigLoader.defaults(all);
    }

    /** Embedded broker and S3 server under {@code dir}. */
    static FarmTestInfra embedded(Path dir) {
        return embedded(dir, Map.of());
    }

    static FarmTestInfra embedded(Path dir, Map<String, String> settings) {
        LocalInfrastructure infra = LocalInfrastructure.start(testConfig(settings), dir, 0, 0, Map.of());
        return new FarmTestInfra() {
            @Override
            public FarmConfig config() {
                return infra.config();
            }

            @Override
            public void close() {
                infra.close();
            }
        };
    }

    /** Kafka and MinIO containers; call only where {@code DockerClientFactory} finds an engine. */
    static FarmTestInfra containers() {
        return ContainerInfra.start(testConfig(Map.of()));
    }

    @Override
    void close();
}
