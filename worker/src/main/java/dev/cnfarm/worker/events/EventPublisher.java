package dev.cnfarm.worker.events;

import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.proto.v1.RenderTask;
import dev.cnfarm.proto.v1.SchemaVersion;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.TaskFailed;
import dev.cnfarm.proto.v1.TaskProgress;
import dev.cnfarm.proto.v1.TaskResult;
import dev.cnfarm.proto.v1.TaskStarted;
import dev.cnfarm.proto.v1.WorkerStatus;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes a worker's events to Kafka. Results and failures are sent synchronously (the task is
 * acknowledged only after its result is durably on the topic); progress is fire-and-forget, since
 * the progress topic is lossy by design.
 */
public final class EventPublisher {
    private final KafkaProducer<String, byte[]> producer;
    private final Topics topics;
    private final String workerId;

    public EventPublisher(KafkaProducer<String, byte[]> producer, Topics topics, String workerId) {
        this.producer = producer;
        this.topics = topics;
        this.workerId = workerId;
    }

    public void started(RenderTask task, int attempt, String executionProvider) {
        send(topics.taskEvents(), base(task, attempt).setStarted(TaskStarted.newBuilder().setExecutionProvider(executionProvider)).build(), false);
    }

    /** @param preview a small PNG of the predicted image, or null */
    public void progress(RenderTask task, int attempt, int step, int total, byte[] preview) {
        TaskProgress.Builder p = TaskProgress.newBuilder().setStep(step).setTotalSteps(total);
        if (preview != null) {
            p.setPreviewPng(com.google.protobuf.ByteString.copyFrom(preview));
        }
        send(topics.progress(), base(task, attempt).setProgress(p).build(), false);
    }

    /** A training task's step: its loss, learning rate and rate with the step count. */
    public void trainingProgress(RenderTask task, int attempt, int step, int total, double loss, double learningRate, double stepsPerSecond) {
        TaskProgress p = TaskProgress.newBuilder().setStep(step).setTotalSteps(total).setLoss(loss).setLearningRate(learningRate)
                .setStepsPerSecond(stepsPerSecond).build();
        send(topics.progress(), base(task, attempt).setProgress(p).build(), false);
    }

    /** A training task's sample grid, as the progress preview, with its score. */
    public void trainingSample(RenderTask task, int attempt, int step, int total, byte[] gridPng, dev.cnfarm.proto.v1.TrainingSample sample) {
        TaskProgress p = TaskProgress.newBuilder().setStep(step).setTotalSteps(total)
                .setPreviewPng(com.google.protobuf.ByteString.copyFrom(gridPng)).setSample(sample).build();
        send(topics.progress(), base(task, attempt).setProgress(p).build(), false);
    }

    /** Blocks until the broker has the result. */
    public void result(RenderTask task, int attempt, TaskResult result) {
        send(topics.taskEvents(), base(task, attempt).setResult(result).build(), true);
    }

    /** Blocks until the broker has the failure. */
    public void failed(RenderTask task, int attempt, TaskFailed failed) {
        send(topics.taskEvents(), base(task, attempt).setFailed(failed).build(), true);
    }

    public void heartbeat(WorkerStatus status) {
        producer.send(new ProducerRecord<>(topics.workers(), status.getWorkerId(), status.toByteArray()));
    }

    private TaskEvent.Builder base(RenderTask task, int attempt) {
        return TaskEvent.newBuilder()
                .setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE)
                .setJobId(task.getJobId())
                .setTaskId(task.getTaskId())
                .setTaskIndex(task.getIndex())
                .setWorkerId(workerId)
                .setRelease(task.getRelease())
                .setAttempt(attempt)
                .setAtMs(System.currentTimeMillis());
    }

    private void send(String topic, TaskEvent event, boolean sync) {
        var future = producer.send(new ProducerRecord<>(topic, event.getJobId(), event.toByteArray()));
        if (sync) {
            try {
                future.get(60, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new EventNotStoredException("event for task " + event.getTaskId() + " not stored: " + e.getCause(), e.getCause());
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                throw new EventNotStoredException("event for task " + event.getTaskId() + " not stored: " + e, e);
            }
        }
    }
}
