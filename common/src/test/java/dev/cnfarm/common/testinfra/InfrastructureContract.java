package dev.cnfarm.common.testinfra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.common.storage.ObjectNotFoundException;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What the farm needs from its infrastructure, checked against real servers: S3 object round trips
 * and presigned URLs, Kafka transactions seen at read_committed, and share-group delivery with
 * explicit acknowledgement. Subclasses choose embedded servers or containers.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class InfrastructureContract {
    protected FarmTestInfra infra;
    protected FarmConfig config;
    protected Topics topics;

    protected abstract FarmTestInfra startInfra() throws Exception;

    @BeforeAll
    void start() throws Exception {
        infra = startInfra();
        config = infra.config();
        topics = new Topics(config.kafka().topicPrefix());
    }

    @AfterAll
    void stop() {
        if (infra != null) {
            infra.close();
        }
    }

    @Test
    void objectsRoundTripWithTheirDigest() {
        try (ObjectStore store = new MinioObjectStore(config.s3())) {
            byte[] data = "hello farm".getBytes(StandardCharsets.UTF_8);
            String key = "tests/" + UUID.randomUUID() + "/a.txt";
            ObjectInfo put = store.put(key, data, "text/plain");
            assertThat(put.sha256()).isEqualTo(Sha256.of(data));
            assertThat(store.get(key)).isEqualTo(data);
            ObjectInfo stat = store.stat(key).orElseThrow();
            assertThat(stat.sizeBytes()).isEqualTo(data.length);
            assertThat(store.list(key.substring(0, key.lastIndexOf('/') + 1))).extracting(ObjectInfo::key).containsExactly(key);
            store.delete(key);
            assertThat(store.stat(key)).isEmpty();
            assertThatThrownBy(() -> store.get(key)).isInstanceOf(ObjectNotFoundException.class);
        }
    }

    @Test
    void presignedUrlsWorkWithAPlainHttpClient() throws Exception {
        try (ObjectStore store = new MinioObjectStore(config.s3())) {
            String key = "tests/" + UUID.randomUUID() + "/presigned.bin";
            byte[] data = new byte[100_000];
            new java.util.Random(1).nextBytes(data);
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> put = http.send(HttpRequest.newBuilder(store.presignedPut(key, Duration.ofMinutes(5)))
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(data)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(put.statusCode()).isEqualTo(200);
            HttpResponse<byte[]> get = http.send(HttpRequest.newBuilder(store.presignedGet(key, Duration.ofMinutes(5))).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(get.statusCode()).isEqualTo(200);
            assertThat(get.body()).isEqualTo(data);
            String tampered = store.presignedGet(key, Duration.ofMinutes(5)).toString().replace(key, key + "x");
            HttpResponse<byte[]> bad = http.send(HttpRequest.newBuilder(java.net.URI.create(tampered)).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(bad.statusCode()).isEqualTo(403);
        }
    }

    @Test
    void abortedTransactionsAreInvisibleAtReadCommitted() throws Exception {
        String committedKey = "committed-" + UUID.randomUUID();
        String abortedKey = "aborted-" + UUID.randomUUID();
        try (KafkaProducer<String, byte[]> p = KafkaClients.transactionalProducer(config.kafka(), "t", "test-tx-" + UUID.randomUUID())) {
            p.beginTransaction();
            p.send(new ProducerRecord<>(topics.jobs(), abortedKey, new byte[] {1}));
            p.flush();
            p.abortTransaction();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topics.jobs(), committedKey, new byte[] {2}));
            p.commitTransaction();
        }
        Set<String> seen = new HashSet<>();
        try (KafkaConsumer<String, byte[]> c = KafkaClients.replayConsumer(config.kafka(), "test-replay")) {
            List<TopicPartition> parts = c.partitionsFor(topics.jobs()).stream()
                    .map(pi -> new TopicPartition(pi.topic(), pi.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            long deadline = System.currentTimeMillis() + 20_000;
            while (!seen.contains(committedKey) && System.currentTimeMillis() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.key()));
            }
        }
        assertThat(seen).contains(committedKey).doesNotContain(abortedKey);
    }

    @Test
    void shareGroupNeverDeliversTasksOfAnAbortedTransaction() throws Exception {
        String committedKey = "committed-task-" + UUID.randomUUID();
        String abortedKey = "aborted-task-" + UUID.randomUUID();
        try (KafkaProducer<String, byte[]> p = KafkaClients.transactionalProducer(config.kafka(), "t2", "test-tx-" + UUID.randomUUID())) {
            p.beginTransaction();
            p.send(new ProducerRecord<>(topics.tasks(), abortedKey, new byte[] {1}));
            p.flush();
            p.abortTransaction();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topics.tasks(), committedKey, new byte[] {2}));
            p.commitTransaction();
        }
        Set<String> seen = new HashSet<>();
        try (KafkaShareConsumer<String, byte[]> c = KafkaClients.shareConsumer(config.kafka(), "test-worker-tx")) {
            c.subscribe(List.of(topics.tasks()));
            long deadline = System.currentTimeMillis() + 60_000;
            while (!seen.contains(committedKey) && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
                    seen.add(r.key());
                    c.acknowledge(r, AcknowledgeType.ACCEPT);
                }
                c.commitSync();
            }
        }
        assertThat(seen).as("a coordinator killed mid-transaction must not leave tasks a worker renders")
                .contains(committedKey).doesNotContain(abortedKey);
    }

    @Test
    void shareGroupSplitsTasksAndRedeliversReleasedOnes() throws Exception {
        List<String> keys = new ArrayList<>();
        try (KafkaProducer<String, byte[]> p = KafkaClients.producer(config.kafka(), "test-tasks")) {
            for (int i = 0; i < 6; i++) {
                String k = "task-" + UUID.randomUUID();
                keys.add(k);
                p.send(new ProducerRecord<>(topics.tasks(), k, new byte[] {(byte) i}));
            }
            p.flush();
        }
        Set<String> accepted = new HashSet<>();
        String released = null;
        short redeliveryCount = 0;
        try (KafkaShareConsumer<String, byte[]> c = KafkaClients.shareConsumer(config.kafka(), "test-worker")) {
            c.subscribe(List.of(topics.tasks()));
            long deadline = System.currentTimeMillis() + 60_000;
            while (!accepted.containsAll(keys) && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
                    if (!keys.contains(r.key())) {
                        c.acknowledge(r, AcknowledgeType.ACCEPT); // left by another test
                    } else if (released == null) {
                        released = r.key();
                        c.acknowledge(r, AcknowledgeType.RELEASE);
                    } else {
                        if (r.key().equals(released)) {
                            redeliveryCount = r.deliveryCount().orElse((short) 0);
                        }
                        accepted.add(r.key());
                        c.acknowledge(r, AcknowledgeType.ACCEPT);
                    }
                }
                c.commitSync();
            }
        }
        assertThat(accepted).containsAll(keys);
        assertThat(redeliveryCount).as("delivery count of the released task when it came back").isEqualTo((short) 2);
    }

    /**
     * What a worker's micro-batch relies on: a consumer holding several tasks can settle them one
     * at a time and renew the others' locks, and a renewal poll gives back only what it holds
     * (no other task is acquired, so no task's delivery count grows while it waits).
     */
    @Test
    void shareConsumerHoldsSeveralTasksSettlesThemOneByOneAndRenewsTheRest() throws Exception {
        String topic = topics.tasks("batch-contract");
        try (org.apache.kafka.clients.admin.Admin admin = KafkaClients.admin(config.kafka())) {
            dev.cnfarm.common.kafka.TopicSetup.ensurePool(admin, topics, config.kafka(), "batch-contract");
        }
        List<String> keys = new ArrayList<>();
        try (KafkaProducer<String, byte[]> p = KafkaClients.producer(config.kafka(), "test-batch-tasks")) {
            for (int i = 0; i < 8; i++) {
                String k = "task-" + i;
                keys.add(k);
                p.send(new ProducerRecord<>(topic, k, new byte[] {(byte) i}));
            }
            p.flush();
        }
        try (KafkaShareConsumer<String, byte[]> c = KafkaClients.shareConsumer(config.kafka(), "test-batch-worker", 4)) {
            c.subscribe(List.of(topic));
            List<ConsumerRecord<String, byte[]>> held = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 30_000;
            while (held.size() < 2 && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
                    held.add(r);
                }
                if (held.size() == 1) {
                    c.acknowledge(held.remove(0), AcknowledgeType.RELEASE); // a lone first record: try again for several
                    c.commitSync();
                }
            }
            assertThat(held).as("one poll takes several tasks, no more than max.poll.records").hasSizeBetween(2, 4);
            // the first is done; the others are still rendering: renew them
            c.acknowledge(held.get(0), AcknowledgeType.ACCEPT);
            c.commitSync();
            for (int i = 1; i < held.size(); i++) {
                c.acknowledge(held.get(i), AcknowledgeType.RENEW);
            }
            List<String> renewed = held.subList(1, held.size()).stream().map(ConsumerRecord::key).toList();
            List<ConsumerRecord<String, byte[]>> back = new ArrayList<>();
            for (int k = 0; k < 20 && back.isEmpty(); k++) {
                c.poll(Duration.ofMillis(200)).forEach(back::add);
            }
            assertThat(back).extracting(ConsumerRecord::key).as("the renewed tasks come back, and nothing else is taken")
                    .containsExactlyInAnyOrderElementsOf(renewed);
            for (ConsumerRecord<String, byte[]> r : back) {
                c.acknowledge(r, AcknowledgeType.ACCEPT); // the new instances settle
            }
            c.commitSync();
            // the tasks nobody took meanwhile were never acquired and given back: first delivery each
            List<ConsumerRecord<String, byte[]>> rest = new ArrayList<>();
            deadline = System.currentTimeMillis() + 30_000;
            while (rest.size() < keys.size() - held.size() && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
                    rest.add(r);
                    c.acknowledge(r, AcknowledgeType.ACCEPT);
                }
                c.commitSync();
            }
            assertThat(rest).hasSize(keys.size() - held.size());
            assertThat(rest).allSatisfy(r -> assertThat(r.deliveryCount()).contains((short) 1));
        }
    }
}
