package dev.cnfarm.common.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** deploy/farm.example.yaml stays true: it loads, names every key, and shows the real defaults. */
class ConfigExampleTest {
    private static final Path EXAMPLE = Path.of("../deploy/farm.example.yaml");

    @Test
    void exampleListsEveryKeyWithItsDefault() throws Exception {
        FarmConfig c = ConfigLoader.load(EXAMPLE, Map.of(), Map.of());
        String text = Files.readString(EXAMPLE);
        for (ConfigKey k : ConfigKeys.ALL) {
            assertThat(c.sourceOf(k)).as("%s is in the example", k.name()).isEqualTo(ConfigSource.FILE);
            assertThat(c.get(k)).as("example value of %s is its default", k.name()).isEqualTo(k.defaultValue());
        }
        assertThat(text).contains("FARM_KAFKA_BOOTSTRAP_SERVERS");
    }
}
