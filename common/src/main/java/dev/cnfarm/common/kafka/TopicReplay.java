package dev.cnfarm.common.kafka;

import dev.cnfarm.common.config.KafkaSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads topics from the beginning to their end as it stands when the read starts (committed
 * records only), with a consumer of no group: how the token commands list tokens and how tests
 * and benchmarks check what a run left on Kafka.
 */
public final class TopicReplay {
    private TopicReplay() {}

    /** @throws IllegalStateException when the topics cannot be read to their end within {@code timeout} */
    public static void readToEnd(KafkaSettings kafka, Collection<String> topics, Duration timeout,
                                 Consumer<ConsumerRecord<String, byte[]>> each) {
        try (KafkaConsumer<String, byte[]> c = KafkaClients.replayConsumer(kafka, "topic-replay-" + ProcessHandle.current().pid())) {
            List<TopicPartition> parts = new ArrayList<>();
            for (String topic : topics) {
                c.partitionsFor(topic, Duration.ofSeconds(30)).forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
            }
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (parts.stream().anyMatch(p -> c.position(p) < end.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read " + topics + " to the end within " + timeout.toSeconds() + " s");
                }
                c.poll(Duration.ofMillis(200)).forEach(each);
            }
        }
    }
}
