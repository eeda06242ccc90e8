package dev.cnfarm.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.proto.v1.CancelJob;
import dev.cnfarm.proto.v1.ControlNetInput;
import dev.cnfarm.proto.v1.FailureCause;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.RenderTask;
import dev.cnfarm.proto.v1.SchemaVersion;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.WorkerControl;
import dev.cnfarm.proto.v1.WorkerState;
import dev.cnfarm.worker.render.BadInputException;
import dev.cnfarm.worker.render.ItemResult;
import dev.cnfarm.worker.render.RenderOutput;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.Renderer;
import dev.cnfarm.worker.render.RendererRegistry;
import dev.cnfarm.worker.render.SimulatedRenderer;
import dev.cnfarm.worker.render.StepListener;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Workers under stress, against the embedded broker and S3 server: renders longer than the task
 * lock, cancellation mid-render, a worker whose renders keep failing, and shutdown with a task in
 * hand. Simulated renderers make the timings exact; everything else is the real worker.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkerFaultsIT {
    /** Short, so a render of a few seconds outlasts it several times. */
    private static final int LOCK_MS = 1500;

    private FarmTestInfra infra;
    private FarmConfig config;
    private Topics topics;
    private ObjectStore store;
    private KafkaProducer<String, byte[]> producer;
    private ObjectInfo control;

    @BeforeAll
    void start() throws Exception {
        infra = FarmTestInfra.embedded(Files.createTempDirectory("worker-faults"), Map.of("kafka.task-lock-ms", String.valueOf(LOCK_MS)));
        config = infra.config().with(ConfigKeys.WORKER_MODEL_DIR, Files.createTempDirectory("worker-faults-models").toString())
                .with(ConfigKeys.WORKER_HEARTBEAT_MS, "300");
        topics = new Topics(config.kafka().topicPrefix());
        store = new MinioObjectStore(config.s3());
        producer = KafkaClients.producer(config.kafka(), "worker-faults-it");
        byte[] png = WorkerIT.checkerboard(16);
        control = store.put(ObjectKeys.upload("default", Sha256.of(png)), png, "image/png");
    }

    @AfterAll
    void stop() {
        producer.close();
        store.close();
        infra.close();
    }

    @Test
    void lockIsRenewedWhileARenderOutlastsIt() throws Exception {
        String job = "job-" + UUID.randomUUID();
        // 40 steps of 100 ms: four seconds, more than twice the lock
        try (WorkerService a = simulatedWorker("renew-a", 100); WorkerService b = simulatedWorker("renew-b", 100)) {
            send(task(job, 0, 40));
            List<TaskEvent> events = awaitEvents(job, TaskEvent::hasResult);
            assertThat(events).filteredOn(TaskEvent::hasStarted).as("no second worker took it").hasSize(1);
            TaskEvent result = events.get(events.size() - 1);
            assertThat(result.getAttempt()).isEqualTo(1);
            assertThat(result.getWorkerId()).isEqualTo(events.get(0).getWorkerId());
        }
    }

    @Test
    void tasksTakenTogetherKeepTheirLocksWhileTheyWaitTheirTurn() throws Exception {
        String job = "job-" + UUID.randomUUID();
        // three tasks of 1.5 s taken in one poll and rendered one after another (the simulated
        // renderer does not batch): the last waits 3 s, twice the lock, before its turn
        for (int i = 0; i < 3; i++) {
            RenderTask t = task(job, i, 15);
            producer.send(new ProducerRecord<>(topics.tasks(), t.getTaskId(), t.toByteArray()));
        }
        producer.flush();
        try (WorkerService a = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "batch-a").with(ConfigKeys.WORKER_MAX_BATCH, "3"),
                RendererRegistry.simulated(100))) {
            List<TaskEvent> started = awaitEvents(job, e -> false, 3, TaskEvent::hasStarted).stream().filter(TaskEvent::hasStarted).toList();
            assertThat(started.get(2).getAtMs() - started.get(0).getAtMs()).as("taken in one poll, not one after another")
                    .isLessThan(1000);
            try (WorkerService b = simulatedWorker("batch-b", 100)) {
                List<TaskEvent> events = awaitEvents(job, e -> false, 3, TaskEvent::hasResult);
                assertThat(events).filteredOn(TaskEvent::hasStarted).as("each started once, by the worker that took them")
                        .hasSize(3).allSatisfy(e -> assertThat(e.getWorkerId()).isEqualTo("batch-a"));
                assertThat(events).filteredOn(TaskEvent::hasResult).hasSize(3)
                        .allSatisfy(e -> assertThat(e.getAttempt()).as("never redelivered").isEqualTo(1));
            }
        }
    }

    @Test
    void cancellingOneJobOfABatchStopsOnlyItsTask() throws Exception {
        String cancelledJob = "job-" + UUID.randomUUID();
        String otherJob = "job-" + UUID.randomUUID();
        for (RenderTask t : List.of(task(cancelledJob, 0, 200), task(otherJob, 0, 10))) {
            producer.send(new ProducerRecord<>(topics.tasks(), t.getTaskId(), t.toByteArray()));
        }
        producer.flush();
        try (WorkerService w = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "batch-cancel").with(ConfigKeys.WORKER_MAX_BATCH, "2"),
                RendererRegistry.simulated(100))) {
            awaitEvents(cancelledJob, TaskEvent::hasStarted);
            producer.send(new ProducerRecord<>(topics.control(), cancelledJob, WorkerControl.newBuilder()
                    .setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE).setJobId(cancelledJob)
                    .setCancel(CancelJob.getDefaultInstance()).build().toByteArray())).get();
            TaskEvent stopped = last(awaitEvents(cancelledJob, TaskEvent::hasFailed));
            assertThat(stopped.getFailed().getCause()).isEqualTo(FailureCause.FAILURE_CAUSE_CANCELLED);
            TaskEvent done = last(awaitEvents(otherJob, e -> e.hasResult() || e.hasFailed()));
            assertThat(done.hasResult()).as("the other job's task, taken in the same poll, still renders: %s", done).isTrue();
            assertThat(done.getWorkerId()).isEqualTo("batch-cancel");
        }
    }

    /**
     * A model that refuses batches: out of memory for more than one image (as the JVM says it, or
     * as ONNX Runtime does), for any image with "huge" in its prompt, or a refused input for any
     * batch with "refuse" in a prompt.
     */
    private static Renderer batchLimited() {
        return new SimulatedRenderer(10) {
            @Override
            public List<ItemResult> renderBatch(List<RenderRequest> requests, List<StepListener> listeners) {
                if (requests.stream().anyMatch(r -> r.prompt().contains("refuse"))) {
                    throw new BadInputException("the model refused the batch's input");
                }
                if (requests.stream().anyMatch(r -> r.prompt().contains("huge"))) {
                    throw dev.cnfarm.worker.render.RenderOutOfMemoryException.of("simulated", 2048, 2048, requests.size(),
                            "Failed to allocate memory for requested buffer of size 17179869184", 0, null);
                }
                if (requests.size() > 2) {
                    throw new OutOfMemoryError("no room for " + requests.size() + " images");
                }
                if (requests.size() > 1) {
                    throw dev.cnfarm.worker.render.RenderOutOfMemoryException.of("simulated", 64, 64, requests.size(),
                            "Failed to allocate memory for requested buffer of size 4194304", 0, null);
                }
                return super.renderBatch(requests, listeners);
            }
        };
    }

    @Test
    void aBatchThatRunsOutOfMemoryIsRenderedOneAtATimeAndARefusedBatchFailsEachTask() throws Exception {
        String fits = "job-" + UUID.randomUUID();
        String refused = "job-" + UUID.randomUUID();
        List<RenderTask> tasks = List.of(task(fits, 0, 3), task(fits, 1, 3), task(fits, 2, 3),
                task(refused, 0, 3).toBuilder().setPrompt("refuse this").build(), task(refused, 1, 3));
        for (RenderTask t : tasks) {
            producer.send(new ProducerRecord<>(topics.tasks(), t.getTaskId(), t.toByteArray()));
        }
        producer.flush();
        try (WorkerService w = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "batch-oom").with(ConfigKeys.WORKER_MAX_BATCH, "3"),
                new RendererRegistry(List.of(batchLimited())))) {
            List<TaskEvent> done = awaitEvents(fits, e -> false, 3, e -> e.hasResult() || e.hasFailed());
            assertThat(done).filteredOn(e -> e.hasResult() || e.hasFailed()).as("each rendered alone after the batch ran out of memory")
                    .hasSize(3).allSatisfy(e -> assertThat(e.hasResult()).as("%s", e).isTrue());
            List<TaskEvent> failed = awaitEvents(refused, e -> false, 2, TaskEvent::hasFailed);
            assertThat(failed).filteredOn(TaskEvent::hasFailed).as("both tasks of the refused batch").hasSize(2)
                    .allSatisfy(e -> {
                        assertThat(e.getFailed().getCause()).isEqualTo(FailureCause.FAILURE_CAUSE_BAD_INPUT);
                        assertThat(e.getFailed().getMessage()).contains("refused the batch");
                    });
        }
    }

    @Test
    void anImageTooLargeForTheWorkersMemoryFailsAsOutOfMemoryForAnotherWorkerToTryNotAsBadInput() throws Exception {
        String job = "job-" + UUID.randomUUID();
        List<RenderTask> tasks = List.of(task(job, 0, 3).toBuilder().setPrompt("a huge image").build(), task(job, 1, 3));
        for (RenderTask t : tasks) {
            producer.send(new ProducerRecord<>(topics.tasks(), t.getTaskId(), t.toByteArray()));
        }
        producer.flush();
        try (WorkerService w = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "ort-oom").with(ConfigKeys.WORKER_MAX_BATCH, "2"),
                new RendererRegistry(List.of(batchLimited())))) {
            List<TaskEvent> ended = awaitEvents(job, e -> false, 2, e -> e.hasResult() || e.hasFailed());
            assertThat(ended).filteredOn(e -> e.getTaskIndex() == 1 && e.hasResult()).as("the other task, rendered alone").hasSize(1);
            TaskEvent huge = ended.stream().filter(e -> e.getTaskIndex() == 0 && e.hasFailed()).findFirst().orElseThrow();
            assertThat(huge.getFailed().getCause()).isEqualTo(FailureCause.FAILURE_CAUSE_OUT_OF_MEMORY);
            assertThat(huge.getFailed().getRetryable()).as("another worker may have the memory").isTrue();
            assertThat(huge.getFailed().getMessage()).startsWith("out of memory rendering 2048x2048 on model simulated")
                    .contains("a buffer of 16.0 GiB");
        }
    }

    private static TaskEvent last(List<TaskEvent> events) {
        return events.get(events.size() - 1);
    }

    @Test
    void cancelledJobStopsAtTheNextStepAndItsQueuedTasksAreNotStarted() throws Exception {
        String job = "job-" + UUID.randomUUID();
        try (WorkerService w = simulatedWorker("cancel", 100)) {
            send(task(job, 0, 200)); // 20 s if nobody stops it
            awaitEvents(job, TaskEvent::hasStarted);
            long t0 = System.nanoTime();
            producer.send(new ProducerRecord<>(topics.control(), job, WorkerControl.newBuilder()
                    .setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE).setJobId(job)
                    .setCancel(CancelJob.getDefaultInstance()).build().toByteArray())).get();
            List<TaskEvent> events = awaitEvents(job, TaskEvent::hasFailed);
            long stoppedMs = (System.nanoTime() - t0) / 1_000_000;
            TaskEvent failed = events.get(events.size() - 1);
            assertThat(failed.getFailed().getCause()).isEqualTo(FailureCause.FAILURE_CAUSE_CANCELLED);
            assertThat(failed.getFailed().getRetryable()).isFalse();
            assertThat(stoppedMs).as("stopped within a few steps, not after 20 s").isLessThan(5000);

            send(task(job, 1, 5));
            List<TaskEvent> later = awaitEvents(job, e -> e.getTaskIndex() == 1 && e.hasFailed());
            assertThat(later).filteredOn(e -> e.getTaskIndex() == 1 && e.hasStarted()).as("never started").isEmpty();
        }
    }

    @Test
    void workerThatKeepsFailingStopsTakingWorkAndSaysSo() throws Exception {
        String job = "job-" + UUID.randomUUID();
        Renderer broken = new Renderer() {
            @Override
            public RenderOutput render(RenderRequest request, StepListener listener) {
                throw new IllegalStateException("device lost");
            }

            @Override
            public String modelId() {
                return SimulatedRenderer.MODEL_ID;
            }

            @Override
            public String executionProvider() {
                return "CPU";
            }

            @Override
            public int controlSlots() {
                return 1;
            }

            @Override
            public void close() {
            }
        };
        FarmConfig c = config.with(ConfigKeys.WORKER_ID, "broken").with(ConfigKeys.WORKER_MAX_CONSECUTIVE_FAILURES, "3");
        try (WorkerService w = WorkerService.start(c, new RendererRegistry(List.of(broken)))) {
            for (int i = 0; i < 4; i++) {
                send(task(job, i, 3));
            }
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> w.state() == WorkerState.WORKER_STATE_UNHEALTHY);
            List<TaskEvent> failures = awaitEvents(job, e -> false, 3, TaskEvent::hasFailed);
            assertThat(failures).filteredOn(TaskEvent::hasFailed).hasSize(3).allSatisfy(e -> {
                assertThat(e.getFailed().getCause()).isEqualTo(FailureCause.FAILURE_CAUSE_INTERNAL);
                assertThat(e.getFailed().getMessage()).contains("device lost");
                assertThat(e.getWorkerId()).isEqualTo("broken");
            });
            // the fourth task is left for a healthy worker
            try (WorkerService healthy = simulatedWorker("healthy", 10)) {
                List<TaskEvent> done = awaitEvents(job, e -> e.hasResult());
                assertThat(done.get(done.size() - 1).getWorkerId()).isEqualTo("healthy");
            }
            assertThat(awaitEvents(job, e -> e.hasResult())).filteredOn(e -> e.getWorkerId().equals("broken") && e.hasStarted()).hasSize(3);
        }
    }

    @Test
    void drainingWorkerFinishesTheTaskInHand() throws Exception {
        String job = "job-" + UUID.randomUUID();
        WorkerService w = simulatedWorker("drain", 100);
        send(task(job, 0, 30));
        awaitEvents(job, TaskEvent::hasStarted);
        w.close(); // what SIGTERM does in `farm worker`
        List<TaskEvent> events = awaitEvents(job, e -> e.hasResult() || e.hasFailed());
        assertThat(events.get(events.size() - 1).hasResult()).isTrue();
        assertThat(events.get(events.size() - 1).getWorkerId()).isEqualTo("drain");
    }

    @Test
    void drainingWorkerGivesBackATaskThatWouldOutlastTheDrainTimeout() throws Exception {
        String job = "job-" + UUID.randomUUID();
        WorkerService w = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "impatient").with(ConfigKeys.WORKER_DRAIN_TIMEOUT_MS, "500"),
                RendererRegistry.simulated(100));
        send(task(job, 0, 100));
        awaitEvents(job, TaskEvent::hasStarted);
        w.close();
        try (WorkerService next = simulatedWorker("next", 10)) {
            List<TaskEvent> events = awaitEvents(job, TaskEvent::hasResult);
            TaskEvent result = events.get(events.size() - 1);
            assertThat(result.getWorkerId()).isEqualTo("next");
            assertThat(result.getAttempt()).as("given back, delivered again").isGreaterThanOrEqualTo(2);
            assertThat(events).filteredOn(e -> e.getWorkerId().equals("impatient") && (e.hasResult() || e.hasFailed())).isEmpty();
        }
    }

    // ---------------------------------------------------------------- helpers

    private WorkerService simulatedWorker(String id, long msPerStep) {
        return WorkerService.start(config.with(ConfigKeys.WORKER_ID, id), RendererRegistry.simulated(msPerStep));
    }

    private RenderTask task(String job, int index, int steps) {
        return RenderTask.newBuilder()
                .setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE)
                .setTaskId(job + "-" + index).setJobId(job).setTenant("default").setIndex(index).setRelease(1)
                .setPrompt("a test")
                .addControlnets(ControlNetInput.newBuilder().setImage(ObjectRef.newBuilder().setKey(control.key()).setSha256(control.sha256()))
                        .setScale(1f).setEnd(1f).setMode("balanced"))
                .setSeed(index).setSteps(steps).setWidth(16).setHeight(16).setScheduler("euler")
                .setModel(SimulatedRenderer.MODEL_ID)
                .setOutputKey(ObjectKeys.output("default", job, index))
                .build();
    }

    private void send(RenderTask task) throws Exception {
        producer.send(new ProducerRecord<>(topics.tasks(), task.getTaskId(), task.toByteArray())).get();
    }

    private List<TaskEvent> awaitEvents(String job, Predicate<TaskEvent> last) {
        return awaitEvents(job, last, Integer.MAX_VALUE, e -> false);
    }

    /** Events of the job from the start of the topic, until one matches {@code last} or {@code count} match {@code counted}. */
    private List<TaskEvent> awaitEvents(String job, Predicate<TaskEvent> last, int count, Predicate<TaskEvent> counted) {
        List<TaskEvent> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> c = KafkaClients.replayConsumer(config.kafka(), "faults-reader")) {
            String topic = topics.taskEvents();
            List<TopicPartition> parts = c.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            long deadline = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < deadline) {
                for (var r : c.poll(Duration.ofMillis(100))) {
                    try {
                        TaskEvent e = TaskEvent.parseFrom(r.value());
                        if (e.getJobId().equals(job)) {
                            out.add(e);
                            if (last.test(e) || out.stream().filter(counted).count() >= count) {
                                return out;
                            }
                        }
                    } catch (Exception ignored) {
                        // not an event of ours
                    }
                }
            }
        }
        throw new AssertionError("no final event for " + job + "; saw " + out);
    }
}
