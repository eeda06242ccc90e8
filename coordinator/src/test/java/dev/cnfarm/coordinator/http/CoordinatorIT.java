package dev.cnfarm.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.coordinator.CoordinatorService;
import dev.cnfarm.coordinator.auth.Role;
import dev.cnfarm.proto.v1.RenderTask;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The coordinator's REST API over real HTTP, on the embedded broker and S3 server. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CoordinatorIT {
    private FarmTestInfra infra;
    private FarmConfig config;
    private CoordinatorService coordinator;
    private String base;
    private String token;
    private String controlKey;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    void start() throws Exception {
        infra = FarmTestInfra.embedded(Files.createTempDirectory("coordinator-it"));
        // no workers run here: a wide window lets every task be released, so the test can see them all
        config = infra.config().with(ConfigKeys.COORDINATOR_PORT, "0").with(ConfigKeys.COORDINATOR_MAX_TASKS, "500")
                .with(ConfigKeys.SCHEDULER_MIN_WINDOW, "1000").with(ConfigKeys.COORDINATOR_MAX_UPLOAD_BYTES, "100000");
        try (ObjectStore store = new MinioObjectStore(config.s3())) {
            byte[] png = {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3};
            controlKey = store.put(ObjectKeys.upload("default", Sha256.of(png)), png, "image/png").key();
        }
        coordinator = CoordinatorService.start(config);
        base = "http://127.0.0.1:" + coordinator.port();
        token = coordinator.issueToken("default", Role.TENANT, "CoordinatorIT");
    }

    /** A request to the coordinator with this test's token. */
    private HttpRequest.Builder api(URI uri) {
        return HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + token);
    }

    @AfterAll
    void stop() {
        if (coordinator != null) {
            coordinator.close();
        }
        infra.close();
    }

    private HttpResponse<String> post(String path, String body, String idempotencyKey) throws Exception {
        HttpRequest.Builder b = api(URI.create(base + path)).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (idempotencyKey != null) {
            b.header("Idempotency-Key", idempotencyKey);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(api(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private String job(String extra) {
        return "{\"name\":\"it\",\"prompts\":[\"a\",\"b\"],\"control_images\":[\"" + controlKey + "\"],\"seeds\":[1,2,3],"
                + "\"steps\":4,\"width\":64,\"height\":64" + extra + "}";
    }

    @Test
    void submitRecordsTheJobAndTheSchedulerReleasesItsTasks() throws Exception {
        HttpResponse<String> r = post("/api/v1/jobs", job(""), null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode body = Json.mapper().readTree(r.body());
        String jobId = body.get("job_id").asText();
        assertThat(body.at("/quote/task_count").asInt()).isEqualTo(6);
        assertThat(body.at("/quote/estimated_gpu_seconds").asDouble()).isGreaterThan(0);

        JsonNode snapshot = Json.mapper().readTree(get("/api/v1/jobs/" + jobId).body());
        assertThat(snapshot.at("/job/state").asText()).as("no worker runs here").isEqualTo("submitted");
        assertThat(snapshot.at("/job/task_count").asInt()).isEqualTo(6);
        assertThat(snapshot.get("tasks")).hasSize(6);

        Set<String> released = new HashSet<>();
        Topics topics = new Topics(config.kafka().topicPrefix());
        try (KafkaConsumer<String, byte[]> c = KafkaClients.replayConsumer(config.kafka(), "it")) {
            List<TopicPartition> parts = c.partitionsFor(topics.tasks()).stream()
                    .map(p -> new TopicPartition(topics.tasks(), p.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            long deadline = System.currentTimeMillis() + 20_000;
            while (released.size() < 6 && System.currentTimeMillis() < deadline) {
                for (var rec : c.poll(Duration.ofMillis(200))) {
                    RenderTask t = RenderTask.parseFrom(rec.value());
                    if (t.getJobId().equals(jobId)) {
                        released.add(t.getTaskId());
                    }
                }
            }
        }
        assertThat(released).hasSize(6);
        assertThat(get("/api/v1/jobs").body()).contains(jobId);
    }

    @Test
    void anOversizedBodyGetsTheJsonErrorShapeNamingTheLimit() throws Exception {
        String huge = "{\"prompts\":[\"" + "x".repeat(33 * 1024 * 1024) + "\"]}";
        HttpResponse<String> r = post("/api/v1/jobs", huge, null);
        assertThat(r.statusCode()).isEqualTo(413);
        JsonNode body = Json.mapper().readTree(r.body());
        assertThat(body.path("error").asText()).contains(String.valueOf(ApiRoutes.MAX_BODY_BYTES));
        assertThat(body.at("/fields/0/field").asText()).isEqualTo("body");
        HttpResponse<String> p = http.send(api(URI.create(base + "/api/v1/jobs/job-x/priority")).header("content-type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"priority\": " + " ".repeat(5000) + "1}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(p.statusCode()).isEqualTo(413);
        assertThat(Json.mapper().readTree(p.body()).path("error").asText()).contains("4096");
    }

    /** A job for a model no live worker of its pool serves is refused at submit; a pool without live workers takes it. */
    @Test
    void aModelNoLiveWorkerServesIsRefusedAtSubmit() throws Exception {
        Topics topics = new Topics(config.kafka().topicPrefix());
        try (var producer = KafkaClients.producer(config.kafka(), "fake-worker")) {
            dev.cnfarm.proto.v1.WorkerStatus hb = dev.cnfarm.proto.v1.WorkerStatus.newBuilder()
                    .setSchemaVersion(dev.cnfarm.proto.v1.SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE).setWorkerId("w-gpu48")
                    .setPool("gpu48").setState(dev.cnfarm.proto.v1.WorkerState.WORKER_STATE_IDLE).setAtMs(System.currentTimeMillis())
                    .addLoadedModels("tiny").addLoadedModels("shapes").setMaxPixels(1024 * 1024).build();
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topics.workers(), "w-gpu48", hb.toByteArray())).get();
        }
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
                .until(() -> get("/api/v1/workers").body().contains("w-gpu48"));
        HttpResponse<String> refused = post("/api/v1/jobs", "{\"prompts\":[\"a\"],\"model\":\"nope\",\"pool\":\"gpu48\"}", null);
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
        JsonNode err = Json.mapper().readTree(refused.body()).at("/fields/0");
        assertThat(err.path("field").asText()).isEqualTo("model");
        assertThat(err.path("message").asText()).contains("'nope'", "[shapes, tiny]");
        assertThat(post("/api/v1/jobs?dry_run=true", "{\"prompts\":[\"a\"],\"model\":\"shapes\",\"pool\":\"gpu48\"}", null).statusCode())
                .isEqualTo(200);
        // larger than any live worker of the pool renders: refused at submit and in the quote, not failed three times later
        HttpResponse<String> tooLarge = post("/api/v1/jobs?dry_run=true",
                "{\"prompts\":[\"a\"],\"model\":\"shapes\",\"pool\":\"gpu48\",\"width\":2048,\"height\":2048}", null);
        assertThat(tooLarge.statusCode()).as(tooLarge.body()).isEqualTo(400);
        JsonNode size = Json.mapper().readTree(tooLarge.body()).at("/fields/0");
        assertThat(size.path("field").asText()).isEqualTo("width");
        assertThat(size.path("message").asText()).contains("2048x2048", "at most 1048576", "about 1024x1024", "worker.max-pixels");
        // a pool with no live worker takes the job: it waits for one
        assertThat(post("/api/v1/jobs?dry_run=true", "{\"prompts\":[\"a\"],\"model\":\"nope\",\"pool\":\"empty-pool\"}", null)
                .statusCode()).isEqualTo(200);
    }

    @Test
    void aTextToImageJobIsQuotedAsOne() throws Exception {
        HttpResponse<String> r = post("/api/v1/jobs?dry_run=true", "{\"prompts\":[\"a red circle\"],\"seeds\":[1,2],\"model\":\"shapes\"}", null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode quote = Json.mapper().readTree(r.body()).path("quote");
        assertThat(quote.path("task_count").asInt()).isEqualTo(2);
        assertThat(quote.path("mode").asText()).isEqualTo("text_to_image");
        assertThat(Json.mapper().readTree(post("/api/v1/jobs?dry_run=true", job(""), null).body()).at("/quote/mode").asText())
                .isEqualTo("controlnet");
    }

    @Test
    void dryRunQuotesWithoutRecording() throws Exception {
        int before = coordinator.view().jobCount();
        HttpResponse<String> r = post("/api/v1/jobs?dry_run=true", job(""), null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(Json.mapper().readTree(r.body()).at("/quote/task_count").asInt()).isEqualTo(6);
        assertThat(r.body()).doesNotContain("job_id");
        assertThat(coordinator.view().jobCount()).isEqualTo(before);
    }

    @Test
    void sameIdempotencyKeyMakesOneJobAndOtherBodyIsRefused() throws Exception {
        HttpResponse<String> first = post("/api/v1/jobs", job(""), "key-1");
        HttpResponse<String> again = post("/api/v1/jobs", job(""), "key-1");
        assertThat(first.statusCode()).isEqualTo(201);
        assertThat(again.statusCode()).isEqualTo(200);
        assertThat(Json.mapper().readTree(again.body()).get("job_id").asText())
                .isEqualTo(Json.mapper().readTree(first.body()).get("job_id").asText());
        HttpResponse<String> other = post("/api/v1/jobs", job(",\"priority\":5"), "key-1");
        assertThat(other.statusCode()).isEqualTo(409);
        assertThat(other.body()).contains("Idempotency-Key");
    }

    @Test
    void jobsCanBeSuspendedResumedReprioritisedAndCancelled() throws Exception {
        String jobId = Json.mapper().readTree(post("/api/v1/jobs", job(""), null).body()).get("job_id").asText();
        assertThat(post("/api/v1/jobs/" + jobId + "/suspend", "", null).statusCode()).isEqualTo(202);
        awaitState(jobId, "suspended");
        HttpResponse<String> twice = post("/api/v1/jobs/" + jobId + "/suspend", "", null);
        assertThat(twice.statusCode()).isEqualTo(409);
        assertThat(twice.body()).contains("already suspended");
        assertThat(post("/api/v1/jobs/" + jobId + "/resume", "", null).statusCode()).isEqualTo(202);
        awaitState(jobId, "submitted");

        HttpResponse<String> p = http.send(api(URI.create(base + "/api/v1/jobs/" + jobId + "/priority"))
                .PUT(HttpRequest.BodyPublishers.ofString("{\"priority\": 50}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(p.statusCode()).as(p.body()).isEqualTo(202);
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() ->
                Json.mapper().readTree(get("/api/v1/jobs/" + jobId).body()).at("/job/priority").asInt() == 50);
        HttpResponse<String> bad = http.send(api(URI.create(base + "/api/v1/jobs/" + jobId + "/priority"))
                .PUT(HttpRequest.BodyPublishers.ofString("{\"priority\": \"high\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("priority").contains("-100");
        HttpResponse<String> range = http.send(api(URI.create(base + "/api/v1/jobs/" + jobId + "/priority"))
                .PUT(HttpRequest.BodyPublishers.ofString("{\"priority\": 1000}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(range.statusCode()).isEqualTo(400);

        assertThat(post("/api/v1/jobs/" + jobId + "/cancel", "", null).statusCode()).isEqualTo(202);
        awaitState(jobId, "cancelled");
        JsonNode snap = Json.mapper().readTree(get("/api/v1/jobs/" + jobId).body());
        assertThat(snap.at("/job/cancelled").asInt()).isEqualTo(6);
        HttpResponse<String> again = post("/api/v1/jobs/" + jobId + "/cancel", "", null);
        assertThat(again.statusCode()).isEqualTo(409);
        assertThat(again.body()).contains("already ended");
        assertThat(post("/api/v1/jobs/job-nope/cancel", "", null).statusCode()).isEqualTo(404);
    }

    private void awaitState(String jobId, String state) {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() ->
                Json.mapper().readTree(get("/api/v1/jobs/" + jobId).body()).at("/job/state").asText().equals(state));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "missing prompt      | {\"control_images\":[\"CONTROL\"]}                                   | prompts",
            "negative steps      | {\"prompts\":[\"x\"],\"control_images\":[\"CONTROL\"],\"steps\":-3}  | steps",
            "unknown field       | {\"prompts\":[\"x\"],\"control_images\":[\"CONTROL\"],\"colour\":1}  | colour",
            "wrong field type    | {\"prompts\":[\"x\"],\"control_images\":[\"CONTROL\"],\"width\":\"wide\"} | width",
            "image not found     | {\"prompts\":[\"x\"],\"control_images\":[\"uploads/default/" + "0000000000000000000000000000000000000000000000000000000000000000\"]} | control_images[0]",
            "too many images     | {\"prompts\":[\"x\"],\"control_images\":[\"CONTROL\"],\"seeds\":[SEEDS]} | prompts",
            "not json            | {prompts                                                             | body",
    })
    void badJobInputGetsA400NamingTheField(String what, String body, String field) throws Exception {
        StringBuilder seeds = new StringBuilder("0");
        for (int i = 1; i < 501; i++) {
            seeds.append(',').append(i);
        }
        HttpResponse<String> r = post("/api/v1/jobs", body.replace("CONTROL", controlKey).replace("SEEDS", seeds), null);
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode err = Json.mapper().readTree(r.body());
        assertThat(err.get("fields")).anySatisfy(f -> assertThat(f.get("field").asText()).isEqualTo(field));
        assertThat(err.get("error").asText()).contains(field);
    }

    @Test
    void unknownJobIs404() throws Exception {
        HttpResponse<String> r = get("/api/v1/jobs/job-nope");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.body()).contains("job-nope");
    }

    @Test
    void uploadHandsOutAPresignedUrlThatWorks() throws Exception {
        byte[] data = "a control image".getBytes();
        String sha = Sha256.of(data);
        JsonNode up = Json.mapper().readTree(post("/api/v1/uploads",
                "{\"sha256\":\"" + sha + "\",\"size_bytes\":" + data.length + "}", null).body());
        assertThat(up.get("key").asText()).isEqualTo("uploads/default/" + sha);
        assertThat(up.get("exists").asBoolean()).isFalse();
        HttpResponse<String> put = http.send(HttpRequest.newBuilder(URI.create(up.get("upload_url").asText()))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(data)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(put.statusCode()).isEqualTo(200);
        JsonNode again = Json.mapper().readTree(post("/api/v1/uploads",
                "{\"sha256\":\"" + sha + "\",\"size_bytes\":" + data.length + "}", null).body());
        assertThat(again.get("exists").asBoolean()).isTrue();
        assertThat(again.has("upload_url")).isFalse();
    }

    /** A presigned PUT takes a body of any size: the size is checked again when a job names the upload. */
    @Test
    void anUploadLargerThanTheLimitIsRefusedWhenAJobNamesIt() throws Exception {
        byte[] big = new byte[300_000];
        big[0] = 1;
        String sha = Sha256.of(big);
        JsonNode up = Json.mapper().readTree(post("/api/v1/uploads", "{\"sha256\":\"" + sha + "\",\"size_bytes\":100}", null).body());
        HttpResponse<String> put = http.send(HttpRequest.newBuilder(URI.create(up.get("upload_url").asText()))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(big)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(put.statusCode()).as("S3 cannot bound a presigned PUT's body").isEqualTo(200);

        HttpResponse<String> r = post("/api/v1/jobs", "{\"prompts\":[\"x\"],\"control_images\":[\"" + up.get("key").asText() + "\"]}", null);
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = Json.mapper().readTree(r.body());
        assertThat(error.at("/fields/0/field").asText()).isEqualTo("control_images[0]");
        assertThat(error.at("/fields/0/message").asText()).contains("300000 bytes", "upload limit of 100000 bytes",
                "coordinator.max-upload-bytes");
    }

    @Test
    void badUploadRequestNamesTheField() throws Exception {
        HttpResponse<String> r = post("/api/v1/uploads", "{\"sha256\":\"xyz\",\"size_bytes\":-1}", null);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("sha256").contains("size_bytes");
    }

    @Test
    void aSecondCoordinatorRebuildsTheSameViewFromKafka() throws Exception {
        String jobId = Json.mapper().readTree(post("/api/v1/jobs", job(""), null).body()).get("job_id").asText();
        try (CoordinatorService second = CoordinatorService.start(config)) {
            HttpResponse<String> r = http.send(api(URI.create("http://127.0.0.1:" + second.port()
                    + "/api/v1/jobs/" + jobId)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode a = Json.mapper().readTree(r.body());
            JsonNode b = Json.mapper().readTree(get("/api/v1/jobs/" + jobId).body());
            assertThat(a.get("tasks")).isEqualTo(b.get("tasks"));
            assertThat(a.at("/job/task_count")).isEqualTo(b.at("/job/task_count"));
            // the same idempotency key through either coordinator names one job
            HttpResponse<String> viaFirst = post("/api/v1/jobs", job(",\"priority\":3"), "key-both");
            HttpResponse<String> viaSecond = http.send(api(URI.create("http://127.0.0.1:" + second.port() + "/api/v1/jobs"))
                    .header("Idempotency-Key", "key-both").POST(HttpRequest.BodyPublishers.ofString(job(",\"priority\":3")))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(Json.mapper().readTree(viaSecond.body()).get("job_id").asText())
                    .isEqualTo(Json.mapper().readTree(viaFirst.body()).get("job_id").asText());
        }
    }

    /**
     * The same idempotency key with two bodies, sent at the same moment through two coordinators:
     * one client gets its job, the other 409, never both 201 (each coordinator alone could not see
     * the other's submit in time). Tried over several rounds, since which one wins is a race.
     */
    @Test
    void oneKeyTwoBodiesThroughTwoCoordinatorsAtOnceMakesOneJobAndTheOtherIsRefused() throws Exception {
        try (CoordinatorService second = CoordinatorService.start(config)) {
            String secondBase = "http://127.0.0.1:" + second.port();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                for (int round = 0; round < 5; round++) {
                    String key = "race-" + round + "-" + System.nanoTime();
                    var viaFirst = pool.submit(() -> post("/api/v1/jobs", job(",\"priority\":1"), key));
                    var viaSecond = pool.submit(() -> http.send(api(URI.create(secondBase + "/api/v1/jobs"))
                            .header("content-type", "application/json").header("Idempotency-Key", key)
                            .POST(HttpRequest.BodyPublishers.ofString(job(",\"priority\":2"))).build(), HttpResponse.BodyHandlers.ofString()));
                    List<HttpResponse<String>> answers = List.of(viaFirst.get(), viaSecond.get());
                    assertThat(answers).extracting(HttpResponse::statusCode).as("round %d: %s", round,
                            answers.stream().map(HttpResponse::body).toList()).containsExactlyInAnyOrder(201, 409);
                    HttpResponse<String> winner = answers.stream().filter(a -> a.statusCode() == 201).findFirst().orElseThrow();
                    HttpResponse<String> loser = answers.stream().filter(a -> a.statusCode() == 409).findFirst().orElseThrow();
                    String jobId = Json.mapper().readTree(winner.body()).get("job_id").asText();
                    assertThat(loser.body()).contains(key, jobId, "different body");
                    int priority = winner == answers.get(0) ? 1 : 2;
                    assertThat(Json.mapper().readTree(get("/api/v1/jobs/" + jobId).body()).at("/job/priority").asInt())
                            .as("the job is the winner's body").isEqualTo(priority);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    /**
     * S3 frozen, not refusing (connections accepted, nothing answered): a submit that needs it answers
     * 503 within the deadline and records nothing, so a client that retries makes no duplicate.
     */
    @Test
    void aFrozenStoreMakesASubmitAnswer503InTimeAndRecordNothing() throws Exception {
        URI s3 = URI.create(config.s3().endpoint());
        try (var proxy = new dev.cnfarm.common.testinfra.FreezableTcpProxy(s3.getHost(), s3.getPort());
             CoordinatorService viaProxy = CoordinatorService.start(config
                     .with(ConfigKeys.S3_ENDPOINT, "http://127.0.0.1:" + proxy.port()).with(ConfigKeys.S3_TIMEOUT_MS, "1500"))) {
            String viaBase = "http://127.0.0.1:" + viaProxy.port();
            String name = "frozen-" + System.nanoTime();
            String body = "{\"name\":\"" + name + "\",\"prompts\":[\"a\"],\"control_images\":[\"" + controlKey + "\"],\"steps\":4,"
                    + "\"width\":64,\"height\":64}";
            proxy.freeze();
            long t0 = System.nanoTime();
            HttpResponse<String> r = http.send(api(URI.create(viaBase + "/api/v1/jobs")).header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            long tookMs = (System.nanoTime() - t0) / 1_000_000;
            proxy.thaw();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
            assertThat(r.body()).contains("S3");
            assertThat(tookMs).as("answered within the deadline, not when the store came back").isLessThan(15_000);
            Thread.sleep(2000); // a submit that went on after its answer would be recorded by now
            assertThat(get("/api/v1/jobs").body()).doesNotContain(name);
            // the store is back: the same request goes through
            HttpResponse<String> again = http.send(api(URI.create(viaBase + "/api/v1/jobs")).header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(again.statusCode()).as(again.body()).isEqualTo(201);
        }
    }

    @Test
    void readinessAndDashboardFiles() throws Exception {
        assertThat(get("/health/ready").statusCode()).isEqualTo(200);
        HttpResponse<String> root = get("/");
        assertThat(root.statusCode()).isEqualTo(302);
        assertThat(root.headers().firstValue("location")).hasValue("/dashboard/");
        HttpResponse<String> index = get("/dashboard/");
        assertThat(index.statusCode()).isEqualTo(200);
        assertThat(index.body()).contains("ControlNet render farm").contains("app.js").doesNotContain("https://");
        assertThat(get("/dashboard/app.js").body()).contains("function connect()");
        assertThat(get("/dashboard/app.css").statusCode()).isEqualTo(200);
    }

    /** The value of one sample line of the Prometheus text, e.g. {@code farm_tasks{state="queued",}}. */
    private static double metric(String text, String name, String labels) {
        for (String line : text.split("\n")) {
            if (line.startsWith(name + "{") && line.contains(labels)) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no sample " + name + " with " + labels + " in:\n" + text);
    }

    @Test
    void metricsCountQueuedTasksAndJobsInPrometheusFormat() throws Exception {
        HttpResponse<String> before = get("/metrics");
        assertThat(before.statusCode()).isEqualTo(200);
        assertThat(before.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
        assertThat(before.body()).contains("farm_websocket_sessions", "farm_workers", "farm_dispatch_latency_seconds", "jvm_memory_used_bytes");

        HttpResponse<String> r = post("/api/v1/jobs", job(""), null); // 6 tasks, no worker to run them
        assertThat(r.statusCode()).isEqualTo(201);
        String id = Json.mapper().readTree(r.body()).get("job_id").asText();
        // and one for a pool no worker serves: its tasks count under its own pool
        HttpResponse<String> pooled = post("/api/v1/jobs", job(",\"pool\":\"metrics-it\""), null);
        assertThat(pooled.statusCode()).as(pooled.body()).isEqualTo(201);
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).untilAsserted(() -> {
            // the gauges against the API's own job list, read around the scrape (jobs of other tests may still change)
            String after = get("/metrics").body();
            double apiQueued = 0;
            for (var j : Json.mapper().readTree(get("/api/v1/jobs").body()).get("jobs")) {
                if (!java.util.Set.of("succeeded", "failed", "cancelled").contains(j.get("state").asText())
                        && j.get("pool").asText().equals("default")) {
                    apiQueued += j.get("queued").asInt();
                }
            }
            assertThat(metric(after, "farm_tasks", "pool=\"default\",state=\"queued\"")).isEqualTo(apiQueued).isGreaterThanOrEqualTo(6);
            assertThat(metric(after, "farm_tasks", "pool=\"metrics-it\",state=\"queued\"")).isEqualTo(6);
            assertThat(metric(after, "farm_jobs", "state=\"running\"") + metric(after, "farm_jobs", "state=\"submitted\""))
                    .isGreaterThanOrEqualTo(1);
        });
        assertThat(Json.mapper().readTree(get("/api/v1/jobs/" + id).body()).at("/job/queued").asInt()).isEqualTo(6);
    }
}
