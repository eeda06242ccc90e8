package dev.cnfarm.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    @Test
    void defaultsApplyWhenNothingIsSet() {
        FarmConfig c = ConfigLoader.load(null, Map.of(), Map.of());
        assertThat(c.kafka().bootstrapServers()).isEqualTo("localhost:9092");
        assertThat(c.kafka().topicPrefix()).isEqualTo("farm.");
        assertThat(c.coordinator().port()).isEqualTo(8080);
        assertThat(c.sourceOf(ConfigKeys.KAFKA_BOOTSTRAP)).isEqualTo(ConfigSource.DEFAULT);
        // nothing listens beyond this machine unless told to: the worker's metrics and health stay on loopback
        assertThat(c.worker().metricsHost()).isEqualTo("127.0.0.1");
        assertThat(c.coordinator().host()).isEqualTo("127.0.0.1");
    }

    @Test
    void flagBeatsEnvironmentBeatsFileBeatsDefault() throws Exception {
        Path file = dir.resolve("farm.yaml");
        Files.writeString(file, """
                kafka:
                  bootstrap-servers: file:1
                  topic-prefix: fromfile.
                s3:
                  bucket: file-bucket
                coordinator.port: 9001
                """);
        FarmConfig c = ConfigLoader.load(file,
                Map.of("FARM_KAFKA_BOOTSTRAP_SERVERS", "env:2", "FARM_S3_BUCKET", "env-bucket"),
                Map.of("kafka.bootstrap-servers", "flag:3"));
        assertThat(c.kafka().bootstrapServers()).isEqualTo("flag:3");
        assertThat(c.sourceOf(ConfigKeys.KAFKA_BOOTSTRAP)).isEqualTo(ConfigSource.FLAG);
        assertThat(c.s3().bucket()).isEqualTo("env-bucket");
        assertThat(c.sourceOf(ConfigKeys.S3_BUCKET)).isEqualTo(ConfigSource.ENVIRONMENT);
        assertThat(c.kafka().topicPrefix()).isEqualTo("fromfile.");
        assertThat(c.coordinator().port()).isEqualTo(9001);
        assertThat(c.sourceOf(ConfigKeys.COORDINATOR_PORT)).isEqualTo(ConfigSource.FILE);
    }

    @Test
    void configFileCanBeNamedByEnvironment() throws Exception {
        Path file = dir.resolve("other.yaml");
        Files.writeString(file, "s3.bucket: named-by-env\n");
        FarmConfig c = ConfigLoader.load(null, Map.of("FARM_CONFIG", file.toString()), Map.of());
        assertThat(c.s3().bucket()).isEqualTo("named-by-env");
    }

    @Test
    void unknownKeyInFileIsRefusedWithItsName() throws Exception {
        Path file = dir.resolve("farm.yaml");
        Files.writeString(file, "kafka:\n  bootstrap-server: oops:1\n");
        assertThatThrownBy(() -> ConfigLoader.load(file, Map.of(), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("kafka.bootstrap-server")
                .hasMessageContaining("farm config");
    }

    @Test
    void unknownFlagIsRefused() {
        assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("s3.bukket", "x")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("s3.bukket");
    }

    @Test
    void missingFileIsRefused() {
        assertThatThrownBy(() -> ConfigLoader.load(dir.resolve("nope.yaml"), Map.of(), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("nope.yaml");
    }

    @Test
    void malformedNumberNamesKeyAndSource() {
        FarmConfig c = ConfigLoader.load(null, Map.of("FARM_COORDINATOR_PORT", "eighty"), Map.of());
        assertThatThrownBy(c::coordinator)
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("coordinator.port")
                .hasMessageContaining("environment")
                .hasMessageContaining("eighty");
    }

    @Test
    void aPoolNameThatCannotBeATopicNameIsRefused() {
        FarmConfig c = ConfigLoader.load(null, Map.of(), Map.of("worker.pool", "GPU pool"));
        assertThatThrownBy(c::worker)
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("worker.pool")
                .hasMessageContaining("lowercase letters, digits or '-'")
                .hasMessageContaining("GPU pool");
        assertThat(ConfigLoader.load(null, Map.of(), Map.of("worker.pool", "gpu48")).worker().pool()).isEqualTo("gpu48");
    }

    @Test
    void outOfRangeNumberIsRefused() {
        FarmConfig c = ConfigLoader.load(null, Map.of(), Map.of("kafka.delivery-limit", "50"));
        assertThatThrownBy(c::kafka).hasMessageContaining("kafka.delivery-limit").hasMessageContaining("between 2 and 10");
    }

    @Test
    void secretsNeverAppearInDescriptions() {
        FarmConfig c = ConfigLoader.load(null, Map.of("FARM_S3_SECRET_KEY", "hunter2-very-secret"), Map.of());
        assertThat(c.s3().secretKey()).isEqualTo("hunter2-very-secret");
        assertThat(c.toString()).doesNotContain("hunter2");
        assertThat(c.s3().toString()).doesNotContain("hunter2");
    }

    @Test
    void environmentNamesFollowTheKeys() {
        assertThat(ConfigKeys.KAFKA_BOOTSTRAP.envName()).isEqualTo("FARM_KAFKA_BOOTSTRAP_SERVERS");
        assertThat(ConfigKeys.DATA_DIR.envName()).isEqualTo("FARM_DATA_DIR");
    }
}
