package dev.cnfarm.common.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded broker keeps its data across a restart on the same folder and port. */
class EmbeddedKafkaRestartIT {
    @TempDir
    Path dir;

    @Test
    void recordsSurviveARestart() throws Exception {
        int port;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir, 0, Map.of())) {
            port = kafka.port();
            FarmConfig c = FarmTestInfra.testConfig(Map.of()).with(ConfigKeys.KAFKA_BOOTSTRAP, kafka.bootstrapServers());
            try (Admin admin = KafkaClients.admin(c.kafka())) {
                admin.createTopics(List.of(new NewTopic("restart-check", 1, (short) 1))).all().get();
            }
            try (KafkaProducer<String, byte[]> p = KafkaClients.producer(c.kafka(), "before")) {
                p.send(new ProducerRecord<>("restart-check", "k", "before restart".getBytes())).get();
            }
        }
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir, port, Map.of())) {
            FarmConfig c = FarmTestInfra.testConfig(Map.of()).with(ConfigKeys.KAFKA_BOOTSTRAP, kafka.bootstrapServers());
            List<String> values = new ArrayList<>();
            try (KafkaConsumer<String, byte[]> consumer = KafkaClients.replayConsumer(c.kafka(), "after")) {
                TopicPartition tp = new TopicPartition("restart-check", 0);
                consumer.assign(List.of(tp));
                consumer.seekToBeginning(List.of(tp));
                long deadline = System.currentTimeMillis() + 30_000;
                while (values.isEmpty() && System.currentTimeMillis() < deadline) {
                    consumer.poll(Duration.ofMillis(200)).forEach(r -> values.add(new String(r.value())));
                }
            }
            assertThat(values).containsExactly("before restart");
        }
    }
}
