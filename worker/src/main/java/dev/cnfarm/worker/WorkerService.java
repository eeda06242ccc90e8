package dev.cnfarm.worker;

import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.config.KafkaSettings;
import dev.cnfarm.common.config.WorkerSettings;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.ProtoCodec;
import dev.cnfarm.common.kafka.TopicSetup;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.proto.v1.FailureCause;
import dev.cnfarm.proto.v1.RenderTask;
import dev.cnfarm.proto.v1.SchemaVersion;
import dev.cnfarm.proto.v1.TaskFailed;
import dev.cnfarm.proto.v1.WorkerState;
import dev.cnfarm.proto.v1.WorkerStatus;
import dev.cnfarm.worker.control.CancelledJobs;
import dev.cnfarm.worker.events.EventPublisher;
import dev.cnfarm.worker.metrics.GpuMemory;
import dev.cnfarm.worker.metrics.WorkerEndpoints;
import dev.cnfarm.worker.metrics.WorkerMetrics;
import dev.cnfarm.worker.preprocess.ControlMaps;
import dev.cnfarm.worker.preprocess.ImageLimits;
import dev.cnfarm.worker.render.PublishedModels;
import dev.cnfarm.worker.render.RendererRegistry;
import dev.cnfarm.worker.render.StepListener;
import dev.cnfarm.worker.tasks.TaskOutcome;
import dev.cnfarm.worker.tasks.MicroBatches;
import dev.cnfarm.worker.render.LoraMerger;
import dev.cnfarm.worker.tasks.TaskProcessor;
import dev.cnfarm.worker.tasks.TaskRunner;
import dev.cnfarm.worker.tasks.TaskStoppedException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A render worker: takes tasks from the share group (one at a time, or up to
 * {@code worker.max-batch} that it computes together), renders them on a render thread while the
 * consumer thread keeps their locks renewed, stores each PNG, records each outcome on Kafka, and
 * only then acknowledges the task. Every outcome (result or failure) is
 * acknowledged as done: the scheduler decides whether a failed task is tried again. A task is
 * given back (released) only when the worker stops before it could finish it.
 *
 * <p>A worker whose own faults (internal errors, out of memory) fail
 * {@code worker.max-consecutive-failures} tasks in a row stops taking work and says so in its
 * heartbeat. Cancelled jobs stop at the next step.
 */
public final class WorkerService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerService.class);

    private final WorkerSettings settings;
    private final KafkaSettings kafka;
    private final Topics topics;
    private final ObjectStore store;
    /** What the worker does with its tasks: renders them, or (a trainer) trains. */
    private final TaskRunner runner;
    /** Models the farm trained and published, served as they come (render workers with their own models only). */
    private final PublishedModels published;
    private final KafkaProducer<String, byte[]> producer;
    private final KafkaShareConsumer<String, byte[]> consumer;
    private final EventPublisher events;
    private final ControlMaps controlMaps;
    private final CancelledJobs cancelled;
    private final WorkerStats stats = new WorkerStats();
    private final GpuMemory gpu;
    private final WorkerMetrics metrics;
    /** Null when turned off ({@code worker.metrics-port} -1). */
    private final WorkerEndpoints endpoints;
    private final ScheduledExecutorService heartbeat;
    private final ExecutorService renderThread;
    private final Thread loop;
    private final long startedAtMs = System.currentTimeMillis();
    private volatile boolean running = true;
    private volatile WorkerState state = WorkerState.WORKER_STATE_STARTING;
    private volatile String health = "";
    /** Set when the render in hand must stop at its next step and go back to the queue. */
    private volatile String giveBack;
    /** Set when a lock renewal of the batch in hand was refused: the render stops and stores nothing. */
    private volatile String fenced;

    /**
     * Makes the worker's task runner once its object store is open; null for a render worker over
     * the models of its settings.
     */
    @FunctionalInterface
    public interface RunnerFactory {
        TaskRunner create(ObjectStore store);
    }

    private WorkerService(FarmConfig config, RendererRegistry given, RunnerFactory runnerFactory) {
        this.settings = config.worker();
        this.kafka = config.kafka();
        this.topics = new Topics(kafka.topicPrefix());
        this.gpu = GpuMemory.forProvider(settings.executionProvider(), settings.cudaDevice());
        this.metrics = new WorkerMetrics(settings.workerId(), () -> state == WorkerState.WORKER_STATE_BUSY,
                () -> stats.imagesPerSecond(System.currentTimeMillis()), gpu);
        // first, so a port already taken stops the worker before it holds anything else
        this.endpoints = settings.metricsPort() < 0 ? null
                : WorkerEndpoints.start(settings.metricsHost(), settings.metricsPort(), metrics, this::healthReport);
        boolean started = false;
        try {
            awaitTopics(kafka, topics, settings.pool());
            // native libraries and codecs load now: loading them later registers shutdown hooks, which
            // fails while the JVM shuts down, and a drain must be able to finish the task in hand
            dev.cnfarm.worker.preprocess.OpenCv.load();
            dev.cnfarm.worker.output.PngEncoder.encode(new float[3], 1, 1, "warm-up");
            this.store = new MinioObjectStore(config.s3());
            this.producer = KafkaClients.producer(kafka, "worker-" + settings.workerId());
            this.events = new EventPublisher(producer, topics, settings.workerId());
            this.controlMaps = new ControlMaps(store, ImageLimits.defaults(), settings.modelDir().resolve("annotators"));
            RendererRegistry registry = runnerFactory != null ? null : given != null ? given : new RendererRegistry(settings);
            this.runner = runnerFactory != null ? runnerFactory.create(store) : renderingTasks(registry, store, controlMaps, settings);
            // a render worker with models of its own serves the models the farm trains, as they are published
            this.published = runnerFactory == null && given == null
                    ? new PublishedModels(kafka, topics, settings.workerId(), store, registry, settings.modelDir().resolve("published")) : null;
            this.cancelled = new CancelledJobs(kafka, topics, settings.workerId());
            this.consumer = KafkaClients.shareConsumer(kafka, "worker-" + settings.workerId(), settings.maxBatch());
            this.heartbeat = Executors.newSingleThreadScheduledExecutor(daemon("heartbeat-" + settings.workerId()));
            this.renderThread = Executors.newSingleThreadExecutor(daemon("render-" + settings.workerId()));
            this.loop = new Thread(this::run, "worker-" + settings.workerId());
            started = true;
        } finally {
            if (!started) {
                closeEndpoints();
            }
        }
    }

    /** A render worker's runner: the task processor over its models. */
    private static TaskRunner renderingTasks(RendererRegistry renderers, ObjectStore store, ControlMaps controlMaps, WorkerSettings settings) {
        LoraMerger loras = renderers.loraMerger(store, settings.modelDir().resolve("loras"));
        TaskProcessor processor = new TaskProcessor(store, renderers::get, controlMaps, settings.maxPixels(), loras);
        return new TaskRunner() {
            @Override
            public List<TaskOutcome> processBatch(List<TaskProcessor.Attempt> attempts) {
                return processor.processBatch(attempts);
            }

            @Override
            public List<String> modelIds() {
                return renderers.modelIds();
            }

            @Override
            public String executionProvider() {
                return renderers.executionProvider();
            }

            @Override
            public java.util.Map<String, String> modelLayouts() {
                return renderers.modelLayouts();
            }

            @Override
            public void close() {
                if (loras instanceof AutoCloseable c) {
                    try {
                        c.close();
                    } catch (Exception e) {
                        LOG.warn("closing the LoRA models: {}", e.toString());
                    }
                }
                renderers.close();
            }
        };
    }

    private static void awaitTopics(KafkaSettings kafka, Topics topics, String pool) {
        try (Admin admin = KafkaClients.admin(kafka)) {
            TopicSetup.awaitBroker(admin, kafka, Duration.ofSeconds(60));
            TopicSetup.ensure(admin, topics, kafka);
            TopicSetup.ensurePool(admin, topics, kafka, pool);
        }
    }

    private void closeEndpoints() {
        if (endpoints != null) {
            endpoints.close();
        }
        metrics.close();
    }

    private WorkerEndpoints.Health healthReport() {
        WorkerState s = state;
        boolean ready = s == WorkerState.WORKER_STATE_IDLE || s == WorkerState.WORKER_STATE_BUSY;
        return new WorkerEndpoints.Health(settings.workerId(), s.name().replace("WORKER_STATE_", "").toLowerCase(java.util.Locale.ROOT),
                ready, health);
    }

    /** Where this worker's metrics are served, or empty when they are turned off. */
    public Optional<String> metricsUrl() {
        if (endpoints == null) {
            return Optional.empty();
        }
        String host = settings.metricsHost().equals("0.0.0.0") ? hostName() : settings.metricsHost();
        return Optional.of("http://" + host + ":" + endpoints.port() + "/metrics");
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** Starts a worker: checks Kafka and the topics, loads the models, then begins taking tasks. */
    public static WorkerService start(FarmConfig config) {
        return start(config, (RendererRegistry) null);
    }

    /**
     * Starts a worker with the given renderers instead of the models of its settings: simulated
     * GPUs for load tests ({@link RendererRegistry#simulated}), or test doubles at the renderer seam.
     */
    public static WorkerService start(FarmConfig config, RendererRegistry renderers) {
        return start(new WorkerService(config, renderers, null));
    }

    /**
     * Starts a worker that does other work than rendering with the tasks of its pool: a trainer
     * ({@code farm trainer}) takes training jobs from the train pool.
     */
    public static WorkerService start(FarmConfig config, RunnerFactory runner) {
        return start(new WorkerService(config, null, runner));
    }

    private static WorkerService start(WorkerService w) {
        // only its pool's tasks: a task goes only to workers that can run it
        w.consumer.subscribe(List.of(w.topics.tasks(w.settings.pool())));
        w.state = WorkerState.WORKER_STATE_IDLE;
        w.heartbeat.scheduleAtFixedRate(w::sendHeartbeat, 0, w.settings.heartbeatMs(), TimeUnit.MILLISECONDS);
        w.loop.start();
        LOG.info("worker {} started in pool {}: models {}, {} execution provider, metrics {}", w.settings.workerId(), w.settings.pool(),
                w.runner.modelIds(), w.runner.executionProvider(), w.metricsUrl().orElse("off"));
        return w;
    }

    public String workerId() {
        return settings.workerId();
    }

    /** The state the worker reports in its heartbeat. */
    public WorkerState state() {
        return state;
    }

    private void run() {
        try {
            while (running && state != WorkerState.WORKER_STATE_UNHEALTHY) {
                List<ConsumerRecord<String, byte[]>> polled = new ArrayList<>();
                consumer.poll(Duration.ofMillis(settings.pollMs())).forEach(polled::add);
                if (!polled.isEmpty()) {
                    handle(polled);
                }
            }
        } catch (WakeupException e) {
            // close() woke the consumer; fall through to shut down
        } catch (RuntimeException e) {
            LOG.error("worker {} stopped taking tasks after an unexpected error", settings.workerId(), e);
            health = "stopped taking tasks after an unexpected error: " + e;
            state = WorkerState.WORKER_STATE_UNHEALTHY;
        } finally {
            try {
                // anything still held goes back to the queue at once, not after the lock times out
                consumer.close(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                LOG.debug("share consumer close: {}", e.toString());
            }
        }
    }

    /** A task record the worker holds, read. */
    private record Taken(ConsumerRecord<String, byte[]> record, RenderTask task, int attempt, long takenAt) {}

    /**
     * Runs the tasks of one poll (at most {@code worker.max-batch}): unreadable records are
     * rejected, the rest sorted into micro-batches of compatible tasks, rendered batch after batch
     * while every task still held keeps its lock, and each settled on its own.
     */
    private void handle(List<ConsumerRecord<String, byte[]>> records) {
        HeldTasks held = new HeldTasks(consumer, records);
        List<Taken> taken = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            int attempt = record.deliveryCount().map(Short::intValue).orElse(1);
            Optional<RenderTask> parsed = ProtoCodec.parse(RenderTask.parser(), record.value(), record.topic(), record.offset());
            if (parsed.isEmpty() || parsed.get().getSchemaVersion() != SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE) {
                // nothing to report a failure against; reject so it goes to the dead-letter topic
                LOG.warn("rejecting unreadable task record at {}-{}@{}", record.topic(), record.partition(), record.offset());
                held.settle(record, AcknowledgeType.REJECT);
                continue;
            }
            taken.add(new Taken(record, parsed.get(), attempt, System.nanoTime()));
        }
        for (List<Taken> batch : MicroBatches.group(taken, Taken::task, settings.maxBatch())) {
            handleBatch(batch, held);
        }
    }

    private void handleBatch(List<Taken> batch, HeldTasks held) {
        state = WorkerState.WORKER_STATE_BUSY;
        stats.begin(batch.get(0).task().getTaskId());
        List<Taken> settled = new ArrayList<>();
        try {
            List<Taken> toRender = new ArrayList<>();
            List<TaskOutcome> outcomes = new ArrayList<>();
            for (Taken t : batch) {
                if (cancelled.isCancelled(t.task().getJobId())) {
                    settle(t, new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_CANCELLED, "job " + t.task().getJobId() + " was cancelled",
                            false), held);
                    settled.add(t);
                } else {
                    events.started(t.task(), t.attempt(), runner.executionProvider());
                    toRender.add(t);
                }
            }
            if (!toRender.isEmpty()) {
                List<TaskProcessor.Attempt> attempts = toRender.stream()
                        .map(t -> new TaskProcessor.Attempt(t.task(), t.attempt(), stepListener(t.task(), t.attempt()))).toList();
                Future<List<TaskOutcome>> render = renderThread.submit(() -> runner.processBatch(attempts));
                outcomes = awaitRenewing(render, held, toRender.size());
            }
            for (int i = 0; i < toRender.size(); i++) {
                settle(toRender.get(i), outcomes.get(i), held);
                settled.add(toRender.get(i));
            }
        } catch (RuntimeException e) {
            // an outcome could not be recorded: give the unsettled tasks back for another attempt
            for (Taken t : batch) {
                if (settled.contains(t)) {
                    continue;
                }
                LOG.warn("task {} attempt {} could not be settled, releasing it: {}", t.task().getTaskId(), t.attempt(), e.toString());
                stats.failed(false);
                metrics.taskEnded("given_back", "unsettled", Duration.ofNanos(System.nanoTime() - t.takenAt()));
                try {
                    held.settle(t.record(), AcknowledgeType.RELEASE);
                } catch (RuntimeException again) {
                    LOG.warn("release of task {} failed too; the broker's lock timeout will free it", t.task().getTaskId());
                }
            }
        } finally {
            giveBack = null;
            fenced = null;
            if (state == WorkerState.WORKER_STATE_BUSY) {
                state = running ? WorkerState.WORKER_STATE_IDLE : WorkerState.WORKER_STATE_DRAINING;
            }
        }
    }

    private void settle(Taken t, TaskOutcome outcome, HeldTasks held) {
        AcknowledgeType ack = settle(t.task(), t.attempt(), outcome, t.takenAt());
        if (outcome instanceof TaskOutcome.Fenced) {
            try {
                held.settle(t.record(), ack);
            } catch (RuntimeException e) {
                // expected: the broker no longer counts this worker as the task's holder
                LOG.debug("release of fenced task {} refused: {}", t.task().getTaskId(), e.toString());
            }
            return;
        }
        held.settle(t.record(), ack);
    }

    /**
     * Waits for the render, renewing the locks of the tasks held a few times per lock period.
     * When the worker is draining and the render outlives the drain timeout, the render is told
     * to stop and give its tasks back.
     */
    private List<TaskOutcome> awaitRenewing(Future<List<TaskOutcome>> render, HeldTasks held, int tasks) {
        long lockMs = consumer.acquisitionLockTimeoutMs().map(Integer::longValue).orElse((long) kafka.taskLockMs());
        long renewEveryMs = Math.max(200, lockMs / 3);
        long drainDeadline = 0;
        while (true) {
            try {
                return render.get(renewEveryMs, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (!running) {
                    long now = System.currentTimeMillis();
                    if (drainDeadline == 0) {
                        drainDeadline = now + settings.drainTimeoutMs();
                    } else if (now >= drainDeadline && giveBack == null) {
                        giveBack = "the worker is shutting down and the task did not finish within worker.drain-timeout-ms";
                    }
                }
                if (!held.renew() && fenced == null) {
                    fenced = "the lock on the task was lost (a renewal was refused, as after a pause longer than kafka.task-lock-ms): "
                            + "another worker may hold it now, so this attempt stops and stores nothing";
                    metrics.attemptFenced();
                }
            } catch (ExecutionException e) {
                // the processor sorts every exception; only an Error other than out-of-memory lands here
                LOG.error("render failed with an error", e.getCause());
                return java.util.Collections.nCopies(tasks,
                        new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_INTERNAL, String.valueOf(e.getCause()), true));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                giveBack = "the worker was interrupted";
                try {
                    return render.get();
                } catch (Exception again) {
                    return java.util.Collections.nCopies(tasks, new TaskOutcome.GivenBack(giveBack));
                }
            }
        }
    }

    /** Progress every few steps (per settings), with a preview every few more; stops the render if it must. */
    private StepListener stepListener(RenderTask task, int attempt) {
        int every = settings.progressEverySteps();
        int previewEvery = settings.previewEverySteps();
        return new StepListener() {
            private long lastStepAt;

            @Override
            public void onStep(int step, int total, byte[] preview) {
                long now = System.nanoTime();
                if (lastStepAt != 0) {
                    metrics.stepDone(Duration.ofNanos(now - lastStepAt));
                }
                lastStepAt = now;
                stopIfAsked();
                if (step % every == 0 || step == total || preview != null) {
                    events.progress(task, attempt, step, total, preview);
                }
            }

            @Override
            public void onTrainingStep(int step, int total, double loss, double learningRate, double stepsPerSecond) {
                stopIfAsked();
                if (step % every == 0 || step == total) {
                    events.trainingProgress(task, attempt, step, total, loss, learningRate, stepsPerSecond);
                }
            }

            @Override
            public void onTrainingSample(int step, int total, byte[] gridPng, dev.cnfarm.proto.v1.TrainingSample sample) {
                events.trainingSample(task, attempt, step, total, gridPng, sample);
            }

            @Override
            public void beforeStore() {
                if (fenced != null) {
                    throw TaskStoppedException.fenced(fenced);
                }
            }

            /** Stops the attempt between steps: its lock is lost, the worker is leaving, or its job was cancelled. */
            private void stopIfAsked() {
                if (fenced != null) {
                    throw TaskStoppedException.fenced(fenced);
                }
                if (giveBack != null) {
                    throw TaskStoppedException.givenBack(giveBack);
                }
                if (cancelled.isCancelled(task.getJobId())) {
                    throw TaskStoppedException.cancelled(task.getJobId());
                }
            }

            @Override
            public boolean wantsPreview(int step, int total) {
                return previewEvery > 0 && step % previewEvery == 0 && step < total;
            }
        };
    }

    /** Records the outcome on Kafka and says how to acknowledge the task record. */
    private AcknowledgeType settle(RenderTask task, int attempt, TaskOutcome outcome, long takenAt) {
        AcknowledgeType ack = record(task, attempt, outcome);
        String cause = outcome instanceof TaskOutcome.Failed f
                ? f.cause().name().replace("FAILURE_CAUSE_", "").toLowerCase(java.util.Locale.ROOT) : "none";
        String name = outcome instanceof TaskOutcome.Succeeded ? "succeeded" : outcome instanceof TaskOutcome.GivenBack ? "given_back"
                : outcome instanceof TaskOutcome.Fenced ? "fenced" : "failed";
        metrics.taskEnded(name, cause, Duration.ofNanos(System.nanoTime() - takenAt));
        return ack;
    }

    private AcknowledgeType record(RenderTask task, int attempt, TaskOutcome outcome) {
        if (outcome instanceof TaskOutcome.Succeeded s) {
            events.result(task, attempt, s.result());
            stats.succeeded(System.currentTimeMillis());
            LOG.info("task {} (job {} #{}) done in {} ms render", task.getTaskId(), task.getJobId(), task.getIndex(),
                    s.result().getTimings().getRenderMs());
            return AcknowledgeType.ACCEPT;
        }
        if (outcome instanceof TaskOutcome.Fenced f) {
            stats.idle();
            LOG.warn("task {} attempt {}.{} fenced, stopped without storing or recording anything: {}", task.getTaskId(),
                    task.getRelease(), attempt, f.reason());
            return AcknowledgeType.RELEASE;
        }
        if (outcome instanceof TaskOutcome.GivenBack g) {
            stats.idle();
            LOG.info("task {} given back: {}", task.getTaskId(), g.reason());
            return AcknowledgeType.RELEASE;
        }
        TaskOutcome.Failed f = (TaskOutcome.Failed) outcome;
        events.failed(task, attempt, TaskFailed.newBuilder().setCause(f.cause()).setMessage(f.message()).setRetryable(f.retryable())
                .setPermanent(f.permanent()).build());
        boolean workersFault = f.cause() == FailureCause.FAILURE_CAUSE_INTERNAL || f.cause() == FailureCause.FAILURE_CAUSE_OUT_OF_MEMORY;
        int inARow = stats.failed(workersFault);
        LOG.warn("task {} attempt {}.{} failed ({}): {}", task.getTaskId(), task.getRelease(), attempt, f.cause(), f.message());
        if (inARow >= settings.maxConsecutiveFailures()) {
            health = "stopped taking work after " + inARow + " failures in a row of its own making (last: " + f.cause().name()
                    .replace("FAILURE_CAUSE_", "").toLowerCase(java.util.Locale.ROOT) + ": " + f.message() + "); restart it once fixed";
            state = WorkerState.WORKER_STATE_UNHEALTHY;
            LOG.error("worker {} {}", settings.workerId(), health);
            sendHeartbeat();
        }
        return AcknowledgeType.ACCEPT;
    }

    private void sendHeartbeat() {
        try {
            Runtime rt = Runtime.getRuntime();
            long now = System.currentTimeMillis();
            Optional<GpuMemory.Reading> gpuNow = gpu.read();
            events.heartbeat(WorkerStatus.newBuilder()
                    .setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE)
                    .setWorkerId(settings.workerId())
                    .setHost(hostName())
                    .setState(state)
                    .setExecutionProvider(runner.executionProvider())
                    .setDeviceName("cpu x" + rt.availableProcessors())
                    .setMemoryTotalBytes(rt.maxMemory())
                    .setMemoryUsedBytes(rt.totalMemory() - rt.freeMemory())
                    .addAllLoadedModels(runner.modelIds())
                    .putAllModelLayouts(runner.modelLayouts())
                    .setMaxBatch(settings.maxBatch())
                    .setMaxPixels(settings.maxPixels())
                    .setCurrentTaskId(stats.currentTask())
                    .setTasksSucceeded(stats.succeededCount())
                    .setTasksFailed(stats.failedCount())
                    .setImagesPerSecond(stats.imagesPerSecond(now))
                    .setControlMapsMade(controlMaps.made())
                    .setControlMapCacheHits(controlMaps.hits())
                    .setConsecutiveFailures(stats.consecutiveFailures())
                    .setHealth(health)
                    .setGpuMemoryTotalBytes(gpuNow.map(GpuMemory.Reading::totalBytes).orElse(0L))
                    .setGpuMemoryUsedBytes(gpuNow.map(GpuMemory.Reading::usedBytes).orElse(0L))
                    .setMetricsUrl(metricsUrl().orElse(""))
                    .setPool(settings.pool())
                    .setAtMs(now)
                    .setStartedAtMs(startedAtMs)
                    .build());
        } catch (RuntimeException e) {
            LOG.debug("heartbeat not sent: {}", e.toString());
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "unknown";
        }
    }

    /**
     * Stops taking tasks and finishes the one in hand (or, past {@code worker.drain-timeout-ms},
     * gives it back to the queue), says so in a last heartbeat, and releases everything.
     */
    @Override
    public void close() {
        running = false;
        if (state != WorkerState.WORKER_STATE_UNHEALTHY) {
            state = WorkerState.WORKER_STATE_DRAINING;
            health = "draining: finishing the task in hand, taking no more";
        }
        sendHeartbeat();
        try {
            loop.join(settings.drainTimeoutMs() + 60_000L);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (loop.isAlive()) {
            consumer.wakeup();
        }
        heartbeat.shutdownNow();
        renderThread.shutdownNow();
        cancelled.close();
        state = WorkerState.WORKER_STATE_STOPPED;
        health = "";
        sendHeartbeat();
        producer.close(Duration.ofSeconds(5));
        if (published != null) {
            published.close();
        }
        runner.close();
        store.close();
        closeEndpoints();
        LOG.info("worker {} stopped after {} images", settings.workerId(), stats.succeededCount());
    }
}
