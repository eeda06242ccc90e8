package dev.cnfarm.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Secrets come from the environment or mounted files, reach the Kafka clients, and are never printed. */
class SecretSettingsTest {
    @TempDir
    Path dir;

    @Test
    void aSecretIsReadFromTheFileItsFileVariableNames() throws Exception {
        Path file = dir.resolve("s3-secret");
        Files.writeString(file, "from-a-mounted-secret\n");
        FarmConfig c = ConfigLoader.load(null, Map.of("FARM_S3_SECRET_KEY_FILE", file.toString()), Map.of());
        assertThat(c.s3().secretKey()).isEqualTo("from-a-mounted-secret");
        assertThat(c.sourceOf(ConfigKeys.S3_SECRET_KEY)).isEqualTo(ConfigSource.ENVIRONMENT);
    }

    @Test
    void aMissingSecretFileIsNamedWithoutQuotingAnything() {
        Path missing = dir.resolve("nope");
        assertThatThrownBy(() -> ConfigLoader.load(null, Map.of("FARM_API_TOKEN_FILE", missing.toString()), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("FARM_API_TOKEN_FILE").hasMessageContaining(missing.toString());
    }

    @Test
    void bothTheVariableAndItsFileIsRefused() throws Exception {
        Path file = dir.resolve("pw");
        Files.writeString(file, "a");
        assertThatThrownBy(() -> ConfigLoader.load(null, Map.of("FARM_KAFKA_SASL_PASSWORD", "b",
                "FARM_KAFKA_SASL_PASSWORD_FILE", file.toString()), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("set only one");
    }

    @Test
    void onlySecretSettingsTakeAFileVariable() throws Exception {
        // FARM_S3_BUCKET_FILE is not a farm setting: it is warned about and ignored, not read
        Path file = dir.resolve("bucket");
        Files.writeString(file, "from-file");
        FarmConfig c = ConfigLoader.load(null, Map.of("FARM_S3_BUCKET_FILE", file.toString()), Map.of());
        assertThat(c.s3().bucket()).isEqualTo("farm");
    }

    @Test
    void saslSettingsBecomeClientPropertiesAndStayOutOfPrintouts() {
        FarmConfig c = ConfigLoader.load(null, Map.of("FARM_KAFKA_SASL_PASSWORD", "hunter2\"x", "FARM_S3_SECRET_KEY", "s3-very-secret"),
                Map.of("kafka.security-protocol", "sasl_ssl", "kafka.sasl-mechanism", "SCRAM-SHA-512", "kafka.sasl-username", "farm",
                        "kafka.ssl-truststore-location", "/etc/ca.jks", "kafka.ssl-truststore-password", "changeit"));
        KafkaSecurity s = c.kafka().security();
        Map<String, Object> p = s.clientProperties();
        assertThat(p).containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "SCRAM-SHA-512")
                .containsEntry("ssl.truststore.location", "/etc/ca.jks").containsEntry("ssl.truststore.password", "changeit");
        assertThat((String) p.get("sasl.jaas.config")).isEqualTo(
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"farm\" password=\"hunter2\\\"x\";");
        for (String printed : new String[] {c.toString(), String.join("\n", c.describe()), s.toString(), c.kafka().toString(),
                c.s3().toString()}) {
            assertThat(printed).doesNotContain("hunter2").doesNotContain("changeit").doesNotContain("s3-very-secret");
        }
    }

    @Test
    void plaintextNeedsNoCredentialsAndSaslWithoutThemIsRefusedNamingTheSettings() {
        assertThat(ConfigLoader.defaults(Map.of()).kafka().security().clientProperties()).containsOnlyKeys("security.protocol");
        assertThatThrownBy(() -> ConfigLoader.defaults(Map.of("kafka.security-protocol", "SASL_PLAINTEXT")).kafka())
                .isInstanceOf(ConfigException.class).hasMessageContaining("kafka.sasl-username").hasMessageContaining("kafka.sasl-password");
        assertThatThrownBy(() -> ConfigLoader.defaults(Map.of("kafka.security-protocol", "KERBEROS")).kafka())
                .isInstanceOf(ConfigException.class).hasMessageContaining("kafka.security-protocol").hasMessageContaining("SASL_SSL");
        assertThatThrownBy(() -> ConfigLoader.defaults(Map.of("coordinator.auth", "maybe")).coordinator())
                .isInstanceOf(ConfigException.class).hasMessageContaining("coordinator.auth").hasMessageContaining("tokens or off");
    }
}
