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
import dev.cnfarm.worker.events.EventPublisher;
import dev.cnfarm.worker.preprocess.ControlMaps;
import dev.cnfarm.worker.preprocess.ImageLimits;
import dev.cnfarm.worker.render.RendererRegistry;
import dev.cnfarm.worker.render.StepListener;
import dev.cnfarm.worker.tasks.TaskOutcome;
import dev.cnfarm.worker.tasks.TaskProcessor;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
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
 * A render worker: takes tasks one at a time from the share group, renders each, stores the PNG,
 * records the result on Kafka, and only then acknowledges the task. A task whose attempt failed on
 * infrastructure is released for another attempt; one that failed on content is acknowledged with
 * a failure event, so it ends instead of going round forever.
 */
public final class WorkerService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerService.class);

    private final WorkerSettings settings;
    private final KafkaSettings kafka;
    private final Topics topics;
    private final ObjectStore store;
    private final RendererRegistry renderers;
    private final KafkaProducer<String, byte[]> producer;
    private final KafkaShareConsumer<String, byte[]> consumer;
    private final EventPublisher events;
    private final TaskProcessor processor;
    private final ControlMaps controlMaps;
    private final WorkerStats stats = new WorkerStats();
    private final ScheduledExecutorService heartbeat;
    private final Thread loop;
    private final long startedAtMs = System.currentTimeMillis();
    private volatile boolean running = true;
    private volatile WorkerState state = WorkerState.WORKER_STATE_STARTING;

    private WorkerService(FarmConfig config) {
        this.settings = config.worker();
        this.kafka = config.kafka();
        this.topics = new Topics(kafka.topicPrefix());
        try (Admin admin = KafkaClients.admin(kafka)) {
            TopicSetup.awaitBroker(admin, kafka, Duration.ofSeconds(60));
            TopicSetup.ensure(admin, topics, kafka);
        }
        this.renderers = new RendererRegistry(settings);
        this.store = new MinioObjectStore(config.s3());
        this.producer = KafkaClients.producer(kafka, "worker-" + settings.workerId());
        this.events = new EventPublisher(producer, topics, settings.workerId());
        this.controlMaps = new ControlMaps(store, ImageLimits.defaults(), settings.modelDir().resolve("annotators"));
        this.processor = new TaskProcessor(store, renderers::get, controlMaps);
        this.consumer = KafkaClients.shareConsumer(kafka, "worker-" + settings.workerId());
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "heartbeat-" + settings.workerId());
            t.setDaemon(true);
            return t;
        });
        this.loop = new Thread(this::run, "worker-" + settings.workerId());
    }

    /** Starts a worker: checks Kafka and the topics, loads the model, then begins taking tasks. */
    public static WorkerService start(FarmConfig config) {
        WorkerService w = new WorkerService(config);
        w.consumer.subscribe(List.of(w.topics.tasks()));
        w.state = WorkerState.WORKER_STATE_IDLE;
        w.heartbeat.scheduleAtFixedRate(w::sendHeartbeat, 0, w.settings.heartbeatMs(), TimeUnit.MILLISECONDS);
        w.loop.start();
        LOG.info("worker {} started: models {}, {} execution provider", w.settings.workerId(), w.renderers.modelIds(),
                w.renderers.executionProvider());
        return w;
    }

    public String workerId() {
        return settings.workerId();
    }

    private void run() {
        try {
            while (running) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    handle(record);
                }
            }
        } catch (WakeupException e) {
            // close() woke the consumer; fall through to shut down
        } catch (RuntimeException e) {
            LOG.error("worker {} stopped taking tasks after an unexpected error", settings.workerId(), e);
        } finally {
            try {
                consumer.close(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                LOG.debug("share consumer close: {}", e.toString());
            }
        }
    }

    private void handle(ConsumerRecord<String, byte[]> record) {
        int attempt = record.deliveryCount().map(Short::intValue).orElse(1);
        Optional<RenderTask> parsed = ProtoCodec.parse(RenderTask.parser(), record.value(), record.topic(), record.offset());
        if (parsed.isEmpty() || parsed.get().getSchemaVersion() != SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE) {
            // nothing to report a failure against; reject so it goes to the dead-letter topic
            LOG.warn("rejecting unreadable task record at {}-{}@{}", record.topic(), record.partition(), record.offset());
            consumer.acknowledge(record, AcknowledgeType.REJECT);
            consumer.commitSync();
            return;
        }
        RenderTask task = parsed.get();
        state = WorkerState.WORKER_STATE_BUSY;
        stats.begin(task.getTaskId());
        try {
            events.started(task, attempt, renderers.executionProvider());
            TaskOutcome outcome = processor.process(task, progressListener(task, attempt));
            AcknowledgeType ack = settle(task, attempt, outcome);
            consumer.acknowledge(record, ack);
            consumer.commitSync();
        } catch (RuntimeException e) {
            // the result could not be recorded: give the task back for another attempt
            LOG.warn("task {} attempt {} could not be settled, releasing it: {}", task.getTaskId(), attempt, e.toString());
            stats.failed();
            try {
                consumer.acknowledge(record, AcknowledgeType.RELEASE);
                consumer.commitSync();
            } catch (RuntimeException again) {
                LOG.warn("release of task {} failed too; the broker's lock timeout will free it", task.getTaskId());
            }
        } finally {
            state = running ? WorkerState.WORKER_STATE_IDLE : WorkerState.WORKER_STATE_DRAINING;
        }
    }

    /** Progress every few steps (per settings), with a preview every few more. */
    private StepListener progressListener(RenderTask task, int attempt) {
        int every = settings.progressEverySteps();
        int previewEvery = settings.previewEverySteps();
        return new StepListener() {
            @Override
            public void onStep(int step, int total, byte[] preview) {
                if (step % every == 0 || step == total || preview != null) {
                    events.progress(task, attempt, step, total, preview);
                }
            }

            @Override
            public boolean wantsPreview(int step, int total) {
                return previewEvery > 0 && step % previewEvery == 0 && step < total;
            }
        };
    }

    /** Records the outcome on Kafka and says how to acknowledge the task record. */
    private AcknowledgeType settle(RenderTask task, int attempt, TaskOutcome outcome) {
        if (outcome instanceof TaskOutcome.Succeeded s) {
            events.result(task, attempt, s.result());
            stats.succeeded(System.currentTimeMillis());
            LOG.info("task {} (job {} #{}) done in {} ms render", task.getTaskId(), task.getJobId(), task.getIndex(),
                    s.result().getTimings().getRenderMs());
            return AcknowledgeType.ACCEPT;
        }
        TaskOutcome.Failed f = (TaskOutcome.Failed) outcome;
        stats.failed();
        // an infrastructure failure on the last allowed delivery becomes final, so the task ends
        // visibly failed instead of vanishing past the delivery limit
        boolean lastDelivery = attempt >= kafka.deliveryLimit();
        boolean retry = f.retryable() && !lastDelivery;
        String message = f.retryable() && !retry ? f.message() + " (gave up after " + attempt + " attempts)" : f.message();
        events.failed(task, attempt, TaskFailed.newBuilder().setCause(f.cause()).setMessage(message).setRetryable(retry).build());
        LOG.warn("task {} attempt {} failed ({}{}): {}", task.getTaskId(), attempt, f.cause(),
                retry ? ", will retry" : "", f.message());
        return retry ? AcknowledgeType.RELEASE : AcknowledgeType.ACCEPT;
    }

    private void sendHeartbeat() {
        try {
            Runtime rt = Runtime.getRuntime();
            long now = System.currentTimeMillis();
            events.heartbeat(WorkerStatus.newBuilder()
                    .setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE)
                    .setWorkerId(settings.workerId())
                    .setHost(hostName())
                    .setState(state)
                    .setExecutionProvider(renderers.executionProvider())
                    .setDeviceName("cpu x" + rt.availableProcessors())
                    .setMemoryTotalBytes(rt.maxMemory())
                    .setMemoryUsedBytes(rt.totalMemory() - rt.freeMemory())
                    .addAllLoadedModels(renderers.modelIds())
                    .setCurrentTaskId(stats.currentTask())
                    .setTasksSucceeded(stats.succeededCount())
                    .setTasksFailed(stats.failedCount())
                    .setImagesPerSecond(stats.imagesPerSecond(now))
                    .setControlMapsMade(controlMaps.made())
                    .setControlMapCacheHits(controlMaps.hits())
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

    /** Stops taking tasks, finishes the one in hand, says so in a last heartbeat, and releases everything. */
    @Override
    public void close() {
        running = false;
        state = WorkerState.WORKER_STATE_DRAINING;
        try {
            loop.join(120_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (loop.isAlive()) {
            consumer.wakeup();
        }
        heartbeat.shutdownNow();
        state = WorkerState.WORKER_STATE_STOPPED;
        sendHeartbeat();
        producer.close(Duration.ofSeconds(5));
        renderers.close();
        store.close();
        LOG.info("worker {} stopped after {} images", settings.workerId(), stats.succeededCount());
    }
}
