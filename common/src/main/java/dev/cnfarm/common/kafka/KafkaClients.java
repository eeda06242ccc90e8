package dev.cnfarm.common.kafka;

import dev.cnfarm.common.config.KafkaSettings;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Factories for the Kafka clients the farm uses, configured the same way in every process. Keys
 * are strings (ids), values are serialized protobuf messages (see {@link ProtoCodec}).
 */
public final class KafkaClients {
    private KafkaClients() {}

    public static Admin admin(KafkaSettings kafka) {
        Map<String, Object> p = base(kafka);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        return Admin.create(p);
    }

    /** An idempotent producer that waits for all in-sync replicas. */
    public static KafkaProducer<String, byte[]> producer(KafkaSettings kafka, String clientId) {
        Map<String, Object> p = producerProps(kafka, clientId);
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    /**
     * A producer for request paths: a send gives up within {@code deadline} (waiting for metadata,
     * and for the broker's acknowledgement, retries included), so a request waiting on it can
     * answer instead of hanging while the broker does not.
     */
    public static KafkaProducer<String, byte[]> producer(KafkaSettings kafka, String clientId, java.time.Duration deadline) {
        Map<String, Object> p = producerProps(kafka, clientId);
        int ms = (int) deadline.toMillis();
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, ms);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, ms + (int) p.getOrDefault(ProducerConfig.LINGER_MS_CONFIG, 5) + 1);
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    /**
     * A transactional producer: the coordinator writes a job and all its tasks in one transaction,
     * so readers at read_committed see all of them or none.
     */
    public static KafkaProducer<String, byte[]> transactionalProducer(KafkaSettings kafka, String clientId, String transactionalId) {
        Map<String, Object> p = producerProps(kafka, clientId);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        producer.initTransactions();
        return producer;
    }

    /**
     * A share consumer that takes one task per poll and acknowledges each explicitly, only once
     * the task's output and result are stored.
     */
    public static KafkaShareConsumer<String, byte[]> shareConsumer(KafkaSettings kafka, String clientId) {
        return shareConsumer(kafka, clientId, 1);
    }

    /**
     * A share consumer that takes at most {@code maxRecords} tasks per poll (a worker's micro-batch)
     * and acknowledges each explicitly, only once the task's output and result are stored.
     */
    public static KafkaShareConsumer<String, byte[]> shareConsumer(KafkaSettings kafka, String clientId, int maxRecords) {
        Map<String, Object> p = base(kafka);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, kafka.shareGroup());
        p.put("share.acknowledgement.mode", "explicit");
        // no more records than the worker renders at once: the others stay available to other
        // workers instead of sitting in this worker's acquired batch
        p.put("share.acquire.mode", "record_limit");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, maxRecords);
        return new KafkaShareConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * A consumer without a group, for readers that assign partitions themselves and replay a topic
     * from the start (the coordinator's view of jobs and events). Reads committed records only.
     */
    public static KafkaConsumer<String, byte[]> replayConsumer(KafkaSettings kafka, String clientId) {
        Map<String, Object> p = base(kafka);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
        return new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * Largest record the farm writes: a manifest job of 10,000 rows carries them all in its spec
     * (about 2 MB before compression), over Kafka's 1 MB default. Topics that carry job specs are
     * created with the same limit.
     */
    public static final int MAX_RECORD_BYTES = 16 * 1024 * 1024;

    private static Map<String, Object> producerProps(KafkaSettings kafka, String clientId) {
        Map<String, Object> p = base(kafka);
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, MAX_RECORD_BYTES);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        return p;
    }

    private static Map<String, Object> base(KafkaSettings kafka) {
        Map<String, Object> p = new HashMap<>();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.putAll(kafka.security().clientProperties());
        return p;
    }
}
