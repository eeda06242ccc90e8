package dev.cnfarm.common.kafka;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.common.config.KafkaSettings;
import dev.cnfarm.common.embedded.FreePorts;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;

/** A process started without a broker says where it looked and what to check, instead of hanging. */
class KafkaUnreachableIT {
    @Test
    void missingBrokerIsReportedWithItsAddress() {
        String bootstrap = "127.0.0.1:" + FreePorts.pick();
        KafkaSettings kafka = ConfigLoader.defaults(Map.of("kafka.bootstrap-servers", bootstrap)).kafka();
        try (Admin admin = KafkaClients.admin(kafka)) {
            assertThatThrownBy(() -> TopicSetup.awaitBroker(admin, kafka, Duration.ofSeconds(2)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining(bootstrap)
                    .hasMessageContaining("kafka.bootstrap-servers");
        }
    }
}
