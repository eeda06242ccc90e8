package dev.cnfarm.common.kafka;

import dev.cnfarm.common.config.KafkaSettings;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads one whole topic from its beginning and then follows it, on a daemon thread, handing each
 * record to a handler: for what every process must know of, such as a worker's cancelled jobs or
 * the models the farm has published. No consumer group: each follower reads all of it.
 */
public final class TopicFollower implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TopicFollower.class);

    private final KafkaConsumer<String, byte[]> consumer;
    private final String topic;
    private final Consumer<ConsumerRecord<String, byte[]>> handler;
    private final String whenStopped;
    private final Thread thread;
    private volatile boolean running = true;

    /**
     * @param whenStopped what it means for this process that the follower stopped on an error (logged)
     */
    public TopicFollower(KafkaSettings kafka, String clientId, String topic, Consumer<ConsumerRecord<String, byte[]>> handler,
                         String whenStopped) {
        this.consumer = KafkaClients.replayConsumer(kafka, clientId);
        this.topic = topic;
        this.handler = handler;
        this.whenStopped = whenStopped;
        this.thread = new Thread(this::run, clientId);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    private void run() {
        try {
            List<TopicPartition> parts = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            while (running) {
                consumer.poll(Duration.ofMillis(500)).forEach(handler);
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.warn("reader of {} stopped ({}); {}", topic, e.toString(), whenStopped);
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
