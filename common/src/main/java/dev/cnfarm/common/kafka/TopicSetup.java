package dev.cnfarm.common.kafka;

import dev.cnfarm.common.config.KafkaSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates the farm's topics (if missing) and configures the workers' share group. Safe to run from
 * every process at start: creating an existing topic is not an error.
 */
public final class TopicSetup {
    private static final long HOURS = 3_600_000L;

    private TopicSetup() {}

    public static void ensure(Admin admin, Topics topics, KafkaSettings kafka) {
        List<NewTopic> wanted = new ArrayList<>();
        // jobs, commands and the scheduler's input carry job specs, which a big manifest makes large
        String maxBytes = String.valueOf(KafkaClients.MAX_RECORD_BYTES);
        wanted.add(topic(topics.jobs(), kafka, Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, maxBytes)));
        wanted.add(topic(topics.commands(), kafka, Map.of(TopicConfig.RETENTION_MS_CONFIG, String.valueOf(30 * 24 * HOURS),
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, maxBytes)));
        wanted.add(topic(topics.control(), kafka, Map.of(TopicConfig.RETENTION_MS_CONFIG, String.valueOf(24 * HOURS))));
        // one partition: the scheduler decides in one place, in one order
        wanted.add(new NewTopic(topics.schedulerInput(), 1, kafka.replicationFactor())
                .configs(Map.of(TopicConfig.RETENTION_MS_CONFIG, String.valueOf(24 * HOURS), TopicConfig.MAX_MESSAGE_BYTES_CONFIG, maxBytes)));
        wanted.add(tasksTopic(topics.tasks(), kafka));
        wanted.add(topic(topics.taskEvents(), kafka, Map.of(TopicConfig.RETENTION_MS_CONFIG, String.valueOf(7 * 24 * HOURS))));
        wanted.add(topic(topics.taskState(), kafka, Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)));
        wanted.add(topic(topics.progress(), kafka, Map.of(TopicConfig.RETENTION_MS_CONFIG, String.valueOf(6 * HOURS))));
        wanted.add(topic(topics.workers(), kafka, Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)));
        wanted.add(topic(topics.tokens(), kafka, Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)));
        wanted.add(topic(topics.models(), kafka, Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)));
        wanted.add(topic(topics.deadLetters(), kafka, Map.of(TopicConfig.RETENTION_MS_CONFIG, String.valueOf(30 * 24 * HOURS),
                DLQ_ENABLE, "true")));
        createMissing(admin, wanted);
        enableDeadLetters(admin, topics);
        configureShareGroup(admin, topics, kafka);
    }

    /**
     * Creates a worker pool's tasks topic if it is missing (see {@link Topics#tasks(String)}): the
     * pool's workers create it when they start, the coordinator before it accepts a job for the
     * pool, so the scheduler never releases into a topic that does not exist.
     */
    public static void ensurePool(Admin admin, Topics topics, KafkaSettings kafka, String pool) {
        createMissing(admin, List.of(tasksTopic(topics.tasks(pool), kafka)));
    }

    /** Few partitions, so that every worker of the share group is assigned each (see KafkaSettings.taskPartitions). */
    private static NewTopic tasksTopic(String name, KafkaSettings kafka) {
        return new NewTopic(name, kafka.taskPartitions(), kafka.replicationFactor())
                .configs(Map.of(TopicConfig.RETENTION_MS_CONFIG, String.valueOf(14 * 24 * HOURS)));
    }

    /**
     * The broker writes a share group's dead letters only to a topic that says it takes them
     * (KIP-1191); without this it logs "DLQ is not enabled" and drops them.
     */
    private static final String DLQ_ENABLE = "errors.deadletterqueue.group.enable";

    /** Also for a dead-letter topic created before this setting was made here. */
    private static void enableDeadLetters(Admin admin, Topics topics) {
        ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, topics.deadLetters());
        try {
            admin.incrementalAlterConfigs(Map.of(topic, List.of(set(DLQ_ENABLE, "true")))).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException("cannot enable dead letters on " + topics.deadLetters() + ": " + cause.getMessage(), cause);
        }
    }

    private static NewTopic topic(String name, KafkaSettings kafka, Map<String, String> configs) {
        return new NewTopic(name, kafka.partitions(), kafka.replicationFactor()).configs(configs);
    }

    private static void createMissing(Admin admin, Collection<NewTopic> wanted) {
        try {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = wanted.stream().filter(t -> !existing.contains(t.name())).toList();
            if (missing.isEmpty()) {
                return;
            }
            admin.createTopics(missing).values().forEach((name, f) -> {
                try {
                    f.get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("cannot create topic " + name + ": " + e.getCause().getMessage(), e.getCause());
                    }
                } catch (Exception e) {
                    throw new IllegalStateException("cannot create topic " + name + ": " + e.getMessage(), e);
                }
            });
        } catch (IllegalStateException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("cannot reach Kafka to create topics: " + e.getMessage(), e);
        }
    }

    /**
     * Share group settings: start from the earliest task (the default, latest, would skip tasks
     * released before the first worker joined), read only committed tasks, the lock duration, the
     * delivery limit, and the dead-letter topic for tasks past it.
     *
     * <p>Committed only, because the scheduler releases tasks inside Kafka Streams transactions: a
     * coordinator killed mid-transaction leaves its releases aborted, its successor releases the
     * same tasks again, and at the default (read_uncommitted) a worker rendered both copies.
     */
    private static void configureShareGroup(Admin admin, Topics topics, KafkaSettings kafka) {
        ConfigResource group = new ConfigResource(ConfigResource.Type.GROUP, kafka.shareGroup());
        List<AlterConfigOp> ops = List.of(
                set("share.auto.offset.reset", "earliest"),
                set("share.isolation.level", "read_committed"),
                set("share.record.lock.duration.ms", String.valueOf(kafka.taskLockMs())),
                set("share.delivery.count.limit", String.valueOf(kafka.deliveryLimit())),
                set("errors.deadletterqueue.topic.name", topics.deadLetters()),
                set("errors.deadletterqueue.copy.record.enable", "true"));
        try {
            admin.incrementalAlterConfigs(Map.of(group, ops)).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException("cannot configure share group " + kafka.shareGroup() + ": " + cause.getMessage()
                    + " (the broker must be Kafka 4.2 or later with share groups enabled)", cause);
        }
    }

    private static AlterConfigOp set(String name, String value) {
        return new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET);
    }

    /** Waits until the broker answers, for processes that start before it is up. */
    public static void awaitBroker(Admin admin, KafkaSettings kafka, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
                return;
            } catch (Exception e) {
                last = e;
                try {
                    Thread.sleep(250);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        throw new IllegalStateException("Kafka at " + kafka.bootstrapServers() + " did not answer within " + timeout.toSeconds()
                + " s (" + (last == null ? "interrupted" : last.getClass().getSimpleName()) + "); is the broker running, and is "
                + "kafka.bootstrap-servers right?", last);
    }
}
