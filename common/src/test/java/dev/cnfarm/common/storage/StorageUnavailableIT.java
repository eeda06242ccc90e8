package dev.cnfarm.common.storage;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.common.embedded.FreePorts;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A store nobody listens on is reported as unavailable (an infrastructure fault), not as a missing object. */
class StorageUnavailableIT {
    @Test
    void unreachableServerIsUnavailable() {
        var config = ConfigLoader.defaults(Map.of(ConfigKeys.S3_ENDPOINT.name(), "http://127.0.0.1:" + FreePorts.pick()));
        try (ObjectStore store = new MinioObjectStore(config.s3())) {
            assertThatThrownBy(() -> store.get("uploads/x")).isInstanceOf(StorageUnavailableException.class)
                    .hasMessageContaining("cannot reach");
            assertThatThrownBy(() -> store.stat("uploads/x")).isInstanceOf(StorageUnavailableException.class);
        }
    }
}
