package dev.cnfarm.faults;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.ConfigKey;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.embedded.LocalInfrastructure;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.coordinator.auth.Role;
import dev.cnfarm.coordinator.auth.TokenAdmin;
import dev.cnfarm.loadtests.JobTopics;
import dev.cnfarm.models.bundle.GeneratedBundles;
import dev.cnfarm.proto.v1.TaskEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.awaitility.Awaitility;

/**
 * One fault scenario's farm: embedded broker and S3 server (which the test may stop), short locks
 * and backoffs so that faults resolve in seconds, the tiny model generated once, and helpers to
 * submit jobs, wait on them, and check the invariants afterwards.
 */
final class FaultFixture implements AutoCloseable {
    static final Path SAMPLES = Path.of("../samples/control").toAbsolutePath().normalize();
    private static final Path MODELS = Path.of("target/fault-models").toAbsolutePath();

    final LocalInfrastructure infra;
    final FarmConfig config;
    final Topics topics;
    final ObjectStore store;
    /** A token of the tenant {@code default}, made on Kafka before any coordinator starts, so every coordinator (process or not) knows it. */
    final String token;

    FaultFixture(Path dir, Map<String, String> settings) {
        Map<String, String> all = new HashMap<>(Map.of(
                "kafka.task-lock-ms", "3000",
                "worker.heartbeat-ms", "500",
                "scheduler.retry-backoff-ms", "300",
                "scheduler.max-backoff-ms", "3000",
                "scheduler.session-timeout-ms", "6000",
                "worker.model-dir", MODELS.toString(),
                "coordinator.port", "0"));
        all.putAll(settings);
        GeneratedBundles.tiny(MODELS); // made once, then every worker process finds it on disk
        this.infra = LocalInfrastructure.start(FarmTestInfra.testConfig(all), dir, 0, 0, Map.of());
        this.config = infra.config();
        this.topics = new Topics(config.kafka().topicPrefix());
        this.store = new MinioObjectStore(config.s3());
        this.token = TokenAdmin.createOnce(config.kafka(), topics, "default", Role.TENANT, "fault tests").token();
    }

    /** A client of the coordinator at {@code url}, with this farm's token. */
    FarmClient client(String url) {
        return new FarmClient(url, token);
    }

    /** The settings a child process needs to join this farm, as {@code --set} flags. */
    List<String> processFlags(Map<ConfigKey, String> extra) {
        List<String> flags = new ArrayList<>();
        for (ConfigKey k : List.of(ConfigKeys.KAFKA_BOOTSTRAP, ConfigKeys.KAFKA_PARTITIONS, ConfigKeys.KAFKA_LOCK_MS,
                ConfigKeys.S3_ENDPOINT, ConfigKeys.WORKER_HEARTBEAT_MS, ConfigKeys.WORKER_MODEL_DIR,
                ConfigKeys.SCHEDULER_RETRY_BACKOFF_MS, ConfigKeys.SCHEDULER_MAX_BACKOFF_MS, ConfigKeys.SCHEDULER_SESSION_TIMEOUT_MS,
                ConfigKeys.DATA_DIR)) {
            flags.add("--set");
            flags.add(k.name() + "=" + config.get(k));
        }
        extra.forEach((k, v) -> {
            flags.add("--set");
            flags.add(k.name() + "=" + v);
        });
        return flags;
    }

    /** Uploads a sample control image (or any bytes) and returns its key. */
    String upload(byte[] bytes) {
        return store.put(ObjectKeys.upload("default", Sha256.of(bytes)), bytes, "image/png").key();
    }

    String uploadSample(String name) throws Exception {
        return upload(Files.readAllBytes(SAMPLES.resolve(name)));
    }

    static String jobJson(String name, List<String> controls, int seeds, int steps, int size, String model, int priority) {
        StringBuilder seedList = new StringBuilder();
        for (int i = 0; i < seeds; i++) {
            seedList.append(i == 0 ? "" : ",").append(i + 1);
        }
        return """
                {"name": "%s", "prompts": ["a fault test"], "control_images": [%s], "seeds": [%s],
                 "steps": %d, "width": %d, "height": %d, "model": "%s", "priority": %d}
                """.formatted(name, String.join(",", controls.stream().map(c -> "\"" + c + "\"").toList()), seedList, steps,
                size, size, model, priority);
    }

    static String submit(FarmClient client, String json) {
        return client.submit(json, null, false).get("job_id").asText();
    }

    static JsonNode awaitJob(FarmClient client, String jobId, Predicate<JsonNode> until, Duration timeout) {
        JsonNode[] last = new JsonNode[1];
        Awaitility.await().atMost(timeout).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() -> {
            last[0] = client.job(jobId);
            return until.test(last[0]);
        });
        return last[0];
    }

    static boolean ended(JsonNode snapshot) {
        String s = snapshot.at("/job/state").asText();
        return s.equals("succeeded") || s.equals("failed") || s.equals("cancelled");
    }

    /** Every event of the job on the task-events topic, read from the start. */
    List<TaskEvent> events(String jobId) {
        return JobTopics.taskEvents(config.kafka(), topics, jobId);
    }

    /**
     * The invariants after a job has ended: every task ended once; each recorded result names an
     * object that exists in S3 with the recorded sha256.
     */
    void assertOutputsIntact(JsonNode snapshot) {
        for (JsonNode t : snapshot.get("tasks")) {
            if (t.get("state").asText().equals("succeeded")) {
                String key = t.get("output_key").asText();
                byte[] bytes = store.get(key);
                assertThat(Sha256.of(bytes)).as("object %s matches its recorded sha256", key).isEqualTo(t.get("output_sha256").asText());
            }
        }
    }

    /** How many result events each task index has on the task-events topic. */
    Map<Integer, Long> resultsPerTask(String jobId) {
        return JobTopics.resultsPerTask(events(jobId));
    }

    @Override
    public void close() {
        store.close();
        infra.close();
    }
}
