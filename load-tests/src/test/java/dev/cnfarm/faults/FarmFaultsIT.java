package dev.cnfarm.faults;

import static dev.cnfarm.faults.FaultFixture.awaitJob;
import static dev.cnfarm.faults.FaultFixture.jobJson;
import static dev.cnfarm.faults.FaultFixture.submit;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.ConfigKey;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.embedded.FreePorts;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.coordinator.CoordinatorService;
import dev.cnfarm.loadtests.FarmProcess;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.WorkerState;
import dev.cnfarm.worker.WorkerService;
import dev.cnfarm.worker.render.RendererRegistry;
import dev.cnfarm.worker.render.SimulatedRenderer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The farm's promise under faults staged for real: every task of an accepted job ends in exactly
 * one terminal state, at most one result is recorded per task, and each recorded result names an
 * object in S3 with the recorded sha256. Each scenario gets a fresh broker and S3 server.
 * Timings worth reporting are appended to {@code target/fault-measurements.txt}.
 */
class FarmFaultsIT {
    private static final Path MEASUREMENTS = Path.of("target/fault-measurements.txt");

    @TempDir
    Path dir;

    @Test
    void workerKilledMidTaskFinishesOnAnotherWorkerWithOneResult() throws Exception {
        try (FaultFixture f = new FaultFixture(dir, Map.of());
             CoordinatorService coordinator = CoordinatorService.start(f.config);
             FarmProcess victim = FarmProcess.start("victim", args(List.of("worker", "--id", "victim"), f.processFlags(Map.of())))) {
            victim.awaitLine("ready", Duration.ofSeconds(120));
            FarmClient client = f.client(coordinator.url(f.config));
            String job = submit(client, jobJson("kill a worker", List.of(f.uploadSample("house.png")), 1, 150, 384, "tiny", 0));
            awaitJob(client, job, s -> runningOn(s, 0, "victim"), Duration.ofSeconds(60));

            try (WorkerService survivor = WorkerService.start(f.config.with(ConfigKeys.WORKER_ID, "survivor"))) {
                Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> survivor.state() == WorkerState.WORKER_STATE_IDLE);
                assertThat(client.job(job).at("/tasks/0/state").asText()).as("still on the victim").isEqualTo("running");
                long t0 = System.nanoTime();
                victim.kill();
                awaitJob(client, job, s -> runningOn(s, 0, "survivor"), Duration.ofSeconds(60));
                long takeoverMs = (System.nanoTime() - t0) / 1_000_000;
                record("worker SIGKILL to its task running on another worker: " + takeoverMs + " ms (task lock "
                        + f.config.kafka().taskLockMs() + " ms)");

                JsonNode done = awaitJob(client, job, FaultFixture::ended, Duration.ofSeconds(180));
                assertThat(done.at("/job/state").asText()).isEqualTo("succeeded");
                assertThat(done.at("/tasks/0/worker").asText()).isEqualTo("survivor");
                assertThat(done.at("/tasks/0/attempt").asInt()).as("a redelivery, not a retry").isEqualTo(1);
                assertThat(f.resultsPerTask(job)).containsExactly(Map.entry(0, 1L));
                f.assertOutputsIntact(done);
                assertThat(takeoverMs).as("the broker frees a dead worker's task when its connection drops")
                        .isLessThan(f.config.kafka().taskLockMs() + 10_000L);
            }
        }
    }

    /**
     * A staged job loses nothing when a worker dies mid-tile: a tiled upscale (a base image, 9 tiles,
     * a blend) on a worker process and an in-process one; the process is SIGKILLed while it renders
     * a tile, the other worker takes the tile, the blend waits for it, and every task ends with one
     * result, the blend the full size.
     */
    @Test
    void workerKilledMidTileOfATiledUpscaleLosesNothing() throws Exception {
        // a lock longer than a tile's render: with the fixture's 3 s lock, lock renewals during renders poll the share group and
        // raise the delivery counts of the queued tiles until one is dead-lettered unrendered (decision 0015, issue 19's open item);
        // this test is about the staged job, not that
        try (FaultFixture f = new FaultFixture(dir, Map.of("kafka.task-lock-ms", "15000"));
             CoordinatorService coordinator = CoordinatorService.start(f.config);
             FarmProcess victim = FarmProcess.start("tiler", args(List.of("worker", "--id", "tiler"), f.processFlags(Map.of())));
             WorkerService survivor = WorkerService.start(f.config.with(ConfigKeys.WORKER_ID, "survivor"))) {
            victim.awaitLine("ready", Duration.ofSeconds(120));
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> survivor.state() == WorkerState.WORKER_STATE_IDLE);
            FarmClient client = f.client(coordinator.url(f.config));
            String job = submit(client, "{\"name\": \"kill a tiler\", \"prompts\": [\"a fault test\"], \"control_images\": [\""
                    + f.uploadSample("house.png") + "\"], \"seeds\": [1], \"steps\": 120, \"width\": 128, \"height\": 128, "
                    + "\"model\": \"tiny\", \"upscale\": {\"scale\": 2, \"tile\": 128, \"overlap\": 32, \"strength\": 0.5}}");
            awaitJob(client, job, s -> java.util.stream.IntStream.rangeClosed(1, 9).anyMatch(i -> runningOn(s, i, "tiler")),
                    Duration.ofSeconds(120));
            victim.kill();
            JsonNode done = awaitJob(client, job, FaultFixture::ended, Duration.ofSeconds(240));
            assertThat(done.at("/job/state").asText()).as("job %s", done.get("tasks")).isEqualTo("succeeded");
            assertThat(done.at("/job/task_count").asInt()).isEqualTo(11);
            Map<Integer, Long> results = f.resultsPerTask(job);
            assertThat(results).hasSize(11);
            assertThat(results.values()).as("one result per task").containsOnly(1L);
            f.assertOutputsIntact(done);
            try (dev.cnfarm.common.storage.ObjectStore store = new dev.cnfarm.common.storage.MinioObjectStore(f.config.s3())) {
                java.awt.image.BufferedImage blend = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(
                        store.get(done.at("/tasks/10/output_key").asText())));
                assertThat(blend.getWidth()).isEqualTo(256);
            }
        }
    }

    /**
     * A worker paused past its lock (SIGSTOP) loses the task to another worker; resumed, its stale
     * attempt leaves nothing behind (it stops when it learns it was fenced, or its objects are
     * removed once its result is dropped), and the job's output folder holds exactly the recorded
     * result's objects.
     */
    @Test
    void workerPausedPastItsLockStopsItsFencedAttemptAndLeavesNoObject() throws Exception {
        try (FaultFixture f = new FaultFixture(dir, Map.of());
             CoordinatorService coordinator = CoordinatorService.start(f.config);
             FarmProcess victim = FarmProcess.start("paused", args(List.of("worker", "--id", "paused"), f.processFlags(Map.of())))) {
            victim.awaitLine("ready", Duration.ofSeconds(120));
            FarmClient client = f.client(coordinator.url(f.config));
            String job = submit(client, jobJson("pause a worker", List.of(f.uploadSample("house.png")), 1, 150, 384, "tiny", 0));
            awaitJob(client, job, s -> runningOn(s, 0, "paused") && s.at("/tasks/0/step").asInt() >= 2, Duration.ofSeconds(60));
            victim.pause();
            try (WorkerService survivor = WorkerService.start(f.config.with(ConfigKeys.WORKER_ID, "survivor"))) {
                JsonNode done = awaitJob(client, job, FaultFixture::ended, Duration.ofSeconds(240));
                assertThat(done.at("/job/state").asText()).isEqualTo("succeeded");
                assertThat(done.at("/tasks/0/worker").asText()).isEqualTo("survivor");
                victim.resume();
                // the paused attempt ends one of two ways: the worker learns from a refused renewal that its lock is
                // gone and stops, storing nothing; or (the client does not always report the refusal) its render ends
                // first, its result is dropped as stale and the coordinator removes what it stored
                Awaitility.await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500)).until(() -> {
                    String log = victim.log();
                    return log.contains("stopped without storing or recording anything") || log.contains("done in");
                });
                String recorded = done.at("/tasks/0/output_key").asText();
                String prefix = recorded.substring(0, recorded.lastIndexOf('/') + 1);
                String stem = recorded.substring(0, recorded.length() - ".png".length());
                Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                        assertThat(f.store.list(prefix)).extracting(dev.cnfarm.common.storage.ObjectInfo::key)
                                .as("only the recorded attempt's image, control map and sidecar")
                                .containsExactlyInAnyOrder(recorded, stem + ".control0.png", stem + ".json"));
                JsonNode after = client.job(job);
                assertThat(after.at("/tasks/0/worker").asText()).as("the recorded result is still the survivor's").isEqualTo("survivor");
                assertThat(after.at("/tasks/0/output_key").asText()).isEqualTo(recorded);
                record("paused worker resumed past its lock: " + (victim.log().contains("stopped without storing") ? "stopped itself (fenced)"
                        : "finished its stale render; the coordinator removed its objects"));
                f.assertOutputsIntact(after);
            }
        }
    }

    @Test
    void workerGivenSigtermFinishesTheTaskInHandThenExits() throws Exception {
        try (FaultFixture f = new FaultFixture(dir, Map.of());
             CoordinatorService coordinator = CoordinatorService.start(f.config);
             FarmProcess worker = FarmProcess.start("drained", args(List.of("worker", "--id", "drained"), f.processFlags(Map.of())))) {
            worker.awaitLine("ready", Duration.ofSeconds(120));
            FarmClient client = f.client(coordinator.url(f.config));
            String job = submit(client, jobJson("drain", List.of(f.uploadSample("face.png")), 2, 60, 128, "tiny", 0));
            awaitJob(client, job, s -> runningOn(s, 0, "drained") || runningOn(s, 1, "drained"), Duration.ofSeconds(60));
            assertThat(worker.terminate(Duration.ofSeconds(120))).as("exit code after SIGTERM").isZero();
            JsonNode s = client.job(job);
            assertThat(s.at("/job/succeeded").asInt()).as("the task in hand was finished").isEqualTo(1);
            assertThat(s.at("/job/queued").asInt()).as("the other was not taken").isEqualTo(1);
            assertThat(worker.log()).contains("stopped after 1 images");
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> client.workers().path("workers").findValuesAsText("state")
                    .contains("stopped"));
        }
    }

    @Test
    void coordinatorKilledMidJobIsReplacedAndTheJobCompletesUnchanged() throws Exception {
        try (FaultFixture f = new FaultFixture(dir, Map.of());
             WorkerService worker = WorkerService.start(f.config.with(ConfigKeys.WORKER_ID, "w1"))) {
            int port = FreePorts.pick();
            List<String> flags = f.processFlags(Map.of(ConfigKeys.COORDINATOR_PORT, String.valueOf(port)));
            FarmClient client = f.client("http://127.0.0.1:" + port);
            String job;
            try (FarmProcess first = FarmProcess.start("coordinator-1", args(List.of("coordinator"), flags))) {
                first.awaitLine("coordinator ready", Duration.ofSeconds(120));
                job = submit(client, jobJson("kill the coordinator", List.of(f.uploadSample("face.png"), f.uploadSample("pose.png")),
                        4, 12, 64, "tiny", 0));
                awaitJob(client, job, s -> s.at("/job/succeeded").asInt() >= 2, Duration.ofSeconds(120));
                first.kill();
            }
            long t0 = System.nanoTime();
            try (FarmProcess second = FarmProcess.start("coordinator-2", args(List.of("coordinator"), flags))) {
                second.awaitLine("coordinator ready", Duration.ofSeconds(120));
                record("coordinator restart (new process after SIGKILL of the old) to ready: " + (System.nanoTime() - t0) / 1_000_000
                        + " ms, scheduler session timeout " + f.config.get(ConfigKeys.SCHEDULER_SESSION_TIMEOUT_MS) + " ms");
                JsonNode done = awaitJob(client, job, FaultFixture::ended, Duration.ofSeconds(180));
                assertThat(done.at("/job/state").asText()).isEqualTo("succeeded");
                assertThat(done.at("/job/succeeded").asInt()).isEqualTo(8);
                // what a run without a restart records: every task once, first attempt, one result each
                done.get("tasks").forEach(t -> assertThat(t.get("attempt").asInt()).as("task %s", t.get("index")).isEqualTo(1));
                assertThat(f.resultsPerTask(job)).hasSize(8).allSatisfy((i, n) -> assertThat(n).as("results of task %s", i).isEqualTo(1));
                f.assertOutputsIntact(done);
            }
        }
    }

    @Test
    void poisonTaskFailsAtOnceWithItsReasonAndTheRestComplete() throws Exception {
        try (FaultFixture f = new FaultFixture(dir, Map.of());
             CoordinatorService coordinator = CoordinatorService.start(f.config);
             WorkerService worker = WorkerService.start(f.config.with(ConfigKeys.WORKER_ID, "w1"))) {
            FarmClient client = f.client(coordinator.url(f.config));
            String poison = f.upload("this is not a PNG".getBytes(StandardCharsets.UTF_8));
            String job = submit(client, jobJson("poison", List.of(f.uploadSample("house.png"), poison, f.uploadSample("mountains.png")),
                    1, 6, 64, "tiny", 0));
            JsonNode done = awaitJob(client, job, FaultFixture::ended, Duration.ofSeconds(180));
            assertThat(done.at("/job/state").asText()).as("finished with failures").isEqualTo("failed");
            assertThat(done.at("/job/succeeded").asInt()).isEqualTo(2);
            assertThat(done.at("/job/failed").asInt()).isEqualTo(1);
            JsonNode bad = done.at("/tasks/1");
            assertThat(bad.get("state").asText()).isEqualTo("failed");
            // bytes that do not decode never will (uploads are content-addressed): the task fails on its first
            // attempt instead of spending the retry budget (SchedulerTest holds the budget for other content faults)
            assertThat(bad.get("attempt").asInt()).isEqualTo(1);
            assertThat(bad.get("error").asText()).startsWith("bad_input").contains("image").doesNotContain("attempts");
            assertThat(f.events(job)).filteredOn(e -> e.getTaskIndex() == 1 && e.hasFailed()).hasSize(1)
                    .allSatisfy(e -> assertThat(e.getFailed().getPermanent()).isTrue());
            f.assertOutputsIntact(done);
        }
    }

    @Test
    void urgentJobBehindTenThousandTasksStartsWithinSeconds() throws Exception {
        try (FaultFixture f = new FaultFixture(dir, Map.of());
             CoordinatorService coordinator = CoordinatorService.start(f.config)) {
            List<WorkerService> workers = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    // simulated GPUs: 2 steps of 25 ms, so the farm's own dispatch cost is what shows
                    workers.add(WorkerService.start(f.config.with(ConfigKeys.WORKER_ID, "sim-" + i), RendererRegistry.simulated(25)));
                }
                FarmClient client = f.client(coordinator.url(f.config));
                String control = f.uploadSample("house.png");
                String big = submit(client, jobJson("big", List.of(control), 10_000, 2, 64, SimulatedRenderer.MODEL_ID, 0));
                awaitJob(client, big, s -> s.at("/job/succeeded").asInt() >= 100, Duration.ofSeconds(120));

                String urgent = submit(client, jobJson("urgent", List.of(control), 3, 2, 64, SimulatedRenderer.MODEL_ID, 50));
                JsonNode u = awaitJob(client, urgent, FaultFixture::ended, Duration.ofSeconds(60));
                assertThat(u.at("/job/state").asText()).isEqualTo("succeeded");
                long dispatchMs = u.at("/job/started_at_ms").asLong() - u.at("/job/submitted_at_ms").asLong();
                long doneMs = u.at("/job/finished_at_ms").asLong() - u.at("/job/submitted_at_ms").asLong();
                JsonNode b = client.job(big);
                record("urgent job behind a 10,000-task job, 4 simulated workers: submit to first task started " + dispatchMs
                        + " ms, to all 3 done " + doneMs + " ms (big job at " + b.at("/job/succeeded").asInt() + " images)");
                assertThat(dispatchMs).as("starts within a few seconds").isLessThan(5000);
                assertThat(b.at("/job/state").asText()).as("the big job was still running").isEqualTo("running");

                HttpResponse<String> cancel = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create(coordinator.url(f.config) + "/api/v1/jobs/" + big + "/cancel"))
                        .header("Authorization", "Bearer " + f.token).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(cancel.statusCode()).isEqualTo(202);
                JsonNode cancelled = awaitJob(client, big, FaultFixture::ended, Duration.ofSeconds(30));
                assertThat(cancelled.at("/job/state").asText()).isEqualTo("cancelled");
                assertThat(cancelled.at("/job/succeeded").asInt() + cancelled.at("/job/cancelled").asInt()
                        + cancelled.at("/job/failed").asInt()).as("every task ended once").isEqualTo(10_000);
            } finally {
                workers.forEach(WorkerService::close);
            }
        }
    }

    @Test
    void taskPastTheDeliveryLimitIsDeadLetteredAndMarkedFailed() throws Exception {
        try (FaultFixture f = new FaultFixture(dir, Map.of("kafka.delivery-limit", "2"));
             CoordinatorService coordinator = CoordinatorService.start(f.config)) {
            // a consumer in the workers' share group that takes every task and gives it back, as a worker would that
            // keeps crashing on it: the broker counts the deliveries and gives up at the limit
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger deliveries = new AtomicInteger();
            Thread flaky = new Thread(() -> {
                try (KafkaShareConsumer<String, byte[]> c = KafkaClients.shareConsumer(f.config.kafka(), "flaky")) {
                    c.subscribe(List.of(f.topics.tasks()));
                    while (!stop.get()) {
                        for (var r : c.poll(Duration.ofMillis(200))) {
                            deliveries.incrementAndGet();
                            c.acknowledge(r, AcknowledgeType.RELEASE);
                        }
                        c.commitSync();
                    }
                }
            });
            flaky.start();
            try {
                FarmClient client = f.client(coordinator.url(f.config));
                String job = submit(client, jobJson("dead letter", List.of(f.uploadSample("house.png")), 1, 2, 64, "tiny", 0));
                JsonNode done = awaitJob(client, job, FaultFixture::ended, Duration.ofSeconds(60));
                assertThat(done.at("/job/state").asText()).isEqualTo("failed");
                assertThat(done.at("/tasks/0/error").asText()).startsWith("delivery_limit").contains("dead-letter");
                assertThat(deliveries.get()).isEqualTo(2);
            } finally {
                stop.set(true);
                flaky.join(10_000);
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    private static boolean runningOn(JsonNode snapshot, int index, String worker) {
        JsonNode t = snapshot.at("/tasks/" + index);
        return t.get("state").asText().equals("running") && t.get("worker").asText().equals(worker);
    }

    static List<String> args(List<String> command, List<String> flags) {
        List<String> all = new ArrayList<>(command);
        all.addAll(flags);
        return all;
    }

    static void record(String line) throws IOException {
        System.out.println("MEASURED " + line);
        Files.createDirectories(MEASUREMENTS.getParent());
        Files.writeString(MEASUREMENTS, line + System.lineSeparator(), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

}
