package dev.cnfarm.worker.control;

import dev.cnfarm.common.config.KafkaSettings;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.ProtoCodec;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.proto.v1.WorkerControl;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The jobs the scheduler has cancelled, read from the control topic by every worker (each reads
 * all of it: no consumer group). A worker checks this set before it starts a task and after every
 * denoising step, so a cancelled job stops within one step.
 */
public final class CancelledJobs implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CancelledJobs.class);
    /** Remembered cancellations; old ones fall out (their tasks are long gone from the queue). */
    private static final int CAPACITY = 100_000;

    private final KafkaConsumer<String, byte[]> consumer;
    private final String topic;
    private final Set<String> cancelled = Collections.synchronizedSet(Collections.newSetFromMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > CAPACITY;
        }
    }));
    private final Thread thread;
    private volatile boolean running = true;

    public CancelledJobs(KafkaSettings kafka, Topics topics, String workerId) {
        this.consumer = KafkaClients.replayConsumer(kafka, "worker-control-" + workerId);
        this.topic = topics.control();
        this.thread = new Thread(this::run, "control-" + workerId);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    public boolean isCancelled(String jobId) {
        return cancelled.contains(jobId);
    }

    private void run() {
        try {
            List<TopicPartition> parts = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            while (running) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    ProtoCodec.parse(WorkerControl.parser(), r.value(), r.topic(), r.offset()).filter(WorkerControl::hasCancel)
                            .ifPresent(c -> {
                                if (cancelled.add(c.getJobId())) {
                                    LOG.info("job {} cancelled: its tasks stop here", c.getJobId());
                                }
                            });
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.warn("control topic reader stopped ({}); cancellations now reach this worker only through the scheduler", e.toString());
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
