package dev.cnfarm.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.embedded.EmbeddedKafka;
import dev.cnfarm.common.embedded.EmbeddedS3;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.coordinator.CoordinatorService;
import dev.cnfarm.coordinator.auth.Role;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The coordinator on a broker that requires SASL/PLAIN, its password and the S3 key read from
 * mounted secret files: every Kafka client it makes (admin, producers, the state feed, Kafka
 * Streams) authenticates, a job goes in and comes back out, and neither secret appears in any log
 * line written meanwhile. A wrong password is refused by the broker.
 */
class SecuredKafkaIT {
    private static final String KAFKA_PASSWORD = "kafka-pw-7c1e\"quoted";
    private static final String S3_SECRET = "s3-secret-5d2a9";

    @TempDir
    Path dir;

    @Test
    void theCoordinatorRunsOnASaslBrokerWithSecretsFromFilesAndLogsNeither() throws Exception {
        Path kafkaSecret = dir.resolve("kafka-password");
        Path s3Secret = dir.resolve("s3-secret");
        Files.writeString(kafkaSecret, KAFKA_PASSWORD + "\n");
        Files.writeString(s3Secret, S3_SECRET);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        // Kafka's clients print their whole configuration at INFO: capture it (and only here, not on stderr)
        Logger kafkaLog = (Logger) LoggerFactory.getLogger("org.apache.kafka");
        Level kafkaLevel = kafkaLog.getLevel();
        logs.start();
        root.addAppender(logs);
        kafkaLog.setLevel(Level.INFO);
        kafkaLog.setAdditive(false);
        kafkaLog.addAppender(logs);
        try (EmbeddedKafka kafka = EmbeddedKafka.startWithSasl(dir.resolve("kafka"), Map.of("farm", KAFKA_PASSWORD));
             EmbeddedS3 s3 = EmbeddedS3.start(dir.resolve("s3"), 0, "farm-access", S3_SECRET)) {
            FarmConfig config = ConfigLoader.load(null,
                    Map.of("FARM_KAFKA_SASL_PASSWORD_FILE", kafkaSecret.toString(), "FARM_S3_SECRET_KEY_FILE", s3Secret.toString()),
                    Map.of("kafka.bootstrap-servers", kafka.bootstrapServers(), "kafka.security-protocol", "SASL_PLAINTEXT",
                            "kafka.sasl-username", "farm", "kafka.partitions", "2", "s3.endpoint", s3.endpoint(),
                            "coordinator.port", "0", "scheduler.min-window", "100"));
            byte[] png = {(byte) 0x89, 'P', 'N', 'G', 9};
            String key;
            try (ObjectStore store = new MinioObjectStore(config.s3())) {
                store.ensureBucket();
                key = store.put(ObjectKeys.upload("studio", Sha256.of(png)), png, "image/png").key();
            }
            try (CoordinatorService coordinator = CoordinatorService.start(config)) {
                String token = coordinator.issueToken("studio", Role.TENANT, "secured kafka");
                String base = "http://127.0.0.1:" + coordinator.port();
                HttpClient http = HttpClient.newHttpClient();
                HttpResponse<String> made = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/jobs"))
                        .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.ofString("""
                                {"prompts": ["a"], "control_images": ["%s"], "seeds": [1, 2], "steps": 2, "width": 64, "height": 64}
                                """.formatted(key))).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(made.statusCode()).as(made.body()).isEqualTo(201);
                String jobId = Json.mapper().readTree(made.body()).get("job_id").asText();
                // the scheduler (Kafka Streams) released its tasks, and the view read them back: both went through SASL
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> {
                    String body = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/jobs/" + jobId))
                            .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString()).body();
                    return body.contains("\"state\":\"released\"");
                });
            }

            FarmConfig wrong = ConfigLoader.load(null, Map.of("FARM_KAFKA_SASL_PASSWORD", "not-it"),
                    Map.of("kafka.bootstrap-servers", kafka.bootstrapServers(), "kafka.security-protocol", "SASL_PLAINTEXT",
                            "kafka.sasl-username", "farm"));
            try (Admin admin = KafkaClients.admin(wrong.kafka())) {
                assertThatThrownBy(() -> admin.listTopics().names().get(30, TimeUnit.SECONDS))
                        .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(SaslAuthenticationException.class);
            }
        } finally {
            root.detachAppender(logs);
            kafkaLog.detachAppender(logs);
            kafkaLog.setAdditive(true);
            kafkaLog.setLevel(kafkaLevel);
        }
        assertThat(logs.list).hasSizeGreaterThan(20);
        assertThat(logs.list).as("the clients' configuration was logged, with the JAAS line masked")
                .anyMatch(e -> e.getFormattedMessage().contains("sasl.jaas.config = [hidden]"));
        for (ILoggingEvent e : logs.list) {
            String line = e.getFormattedMessage() + (e.getThrowableProxy() == null ? "" : e.getThrowableProxy().getMessage());
            assertThat(line).doesNotContain("kafka-pw-7c1e").doesNotContain(S3_SECRET);
        }
    }
}
