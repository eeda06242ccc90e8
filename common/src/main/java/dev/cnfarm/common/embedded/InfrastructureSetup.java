package dev.cnfarm.common.embedded;

import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.TopicSetup;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectStore;
import java.time.Duration;
import org.apache.kafka.clients.admin.Admin;

/** Prepares a Kafka cluster and an S3 server for the farm: topics, share group settings, bucket. */
public final class InfrastructureSetup {
    private InfrastructureSetup() {}

    /** Waits for the broker (up to a minute), then creates what is missing. Safe to repeat. */
    public static void prepare(FarmConfig config) {
        try (Admin admin = KafkaClients.admin(config.kafka())) {
            TopicSetup.awaitBroker(admin, config.kafka(), Duration.ofSeconds(60));
            TopicSetup.ensure(admin, new Topics(config.kafka().topicPrefix()), config.kafka());
        }
        try (ObjectStore store = new MinioObjectStore(config.s3())) {
            store.ensureBucket();
        }
    }
}
