package dev.cnfarm.cli.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.common.json.Json;
import org.junit.jupiter.api.Test;

class FarmClientTest {
    @Test
    void errorsListEveryField() throws Exception {
        String text = FarmClient.describeError(Json.mapper().readTree(
                "{\"error\":\"invalid job\",\"fields\":[{\"field\":\"steps\",\"message\":\"too big\"},{\"field\":\"width\",\"message\":\"odd\"}]}"));
        assertThat(text).isEqualTo("invalid job\n  steps: too big\n  width: odd");
    }
}
