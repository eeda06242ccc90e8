package dev.cnfarm.coordinator.scheduler;

import dev.cnfarm.common.config.KafkaSettings;
import dev.cnfarm.common.config.SchedulerSettings;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.Topics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the scheduler topology. Every coordinator runs one; Kafka Streams gives the scheduler's
 * one partition (and its state) to one of them and moves it to another when that one stops or
 * vanishes, so coordinators can run side by side and be restarted at any time.
 */
public final class SchedulerService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SchedulerService.class);

    private final KafkaStreams streams;
    private final Path stateDir;

    public SchedulerService(KafkaSettings kafka, Topics topics, SchedulerSettings settings) {
        try {
            // the stores are in memory and restored from their changelogs; the folder holds only locks and checkpoints
            this.stateDir = Files.createTempDirectory("farm-scheduler-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the scheduler's state folder", e);
        }
        this.streams = new KafkaStreams(SchedulerTopology.build(topics, settings), properties(kafka, topics, settings, stateDir));
        streams.setUncaughtExceptionHandler(e -> {
            LOG.error("scheduler thread failed; replacing it (its tasks restart from the last commit)", e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        streams.setStateListener((now, before) -> LOG.info("scheduler {} -> {}", before, now));
    }

    static Properties properties(KafkaSettings kafka, Topics topics, SchedulerSettings settings, Path stateDir) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, topics.schedulerApplicationId());
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.putAll(kafka.security().clientProperties());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) kafka.replicationFactor());
        p.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, settings.standbyReplicas());
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        // a short commit interval: a release is visible to workers only once its transaction commits
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 50);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), settings.sessionTimeoutMs());
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), Math.max(500, settings.sessionTimeoutMs() / 4));
        p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 5);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), "lz4");
        // job specs (a 10,000-row manifest is about 2 MB) pass through the producer and the specs store's changelog
        p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), KafkaClients.MAX_RECORD_BYTES);
        p.put(StreamsConfig.topicPrefix(org.apache.kafka.common.config.TopicConfig.MAX_MESSAGE_BYTES_CONFIG),
                String.valueOf(KafkaClients.MAX_RECORD_BYTES));
        return p;
    }

    public void start() {
        streams.start();
    }

    /** True once Streams is running (this coordinator may or may not hold the scheduler's partition). */
    public boolean isRunning() {
        return streams.state() == KafkaStreams.State.RUNNING;
    }

    /** True while this coordinator runs the scheduler (holds its one input partition), not merely a standby. */
    public boolean holdsScheduler() {
        try {
            return isRunning() && streams.metadataForLocalThreads().stream().anyMatch(t -> !t.activeTasks().isEmpty());
        } catch (RuntimeException e) {
            return false;
        }
    }

    public KafkaStreams.State state() {
        return streams.state();
    }

    /** Waits until Streams runs, after restoring whatever state this instance was given. */
    public boolean awaitRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            KafkaStreams.State s = streams.state();
            if (s == KafkaStreams.State.RUNNING) {
                return true;
            }
            if (s == KafkaStreams.State.ERROR || s == KafkaStreams.State.NOT_RUNNING) {
                return false;
            }
            Thread.sleep(50);
        }
        return false;
    }

    @Override
    public void close() {
        // leave the group at once, so another coordinator takes the scheduler over without waiting for a session timeout
        streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP).withTimeout(Duration.ofSeconds(20)));
        try (var files = Files.walk(stateDir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            LOG.debug("scheduler state folder not removed: {}", e.toString());
        }
    }
}
