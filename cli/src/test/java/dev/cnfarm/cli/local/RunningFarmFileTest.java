package dev.cnfarm.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.common.config.FarmConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The file by which other commands find a running `farm up`: client settings only, owner-only, ignored once its process is gone. */
class RunningFarmFileTest {
    @TempDir
    Path dir;

    @Test
    void aLiveFarmsSettingsAreFoundAndADeadOnesAreNot() throws Exception {
        FarmConfig up = ConfigLoader.load(null, Map.of(), Map.of("kafka.bootstrap-servers", "127.0.0.1:4567", "api.url",
                "http://127.0.0.1:8181", "api.token", "farm_0123456789abcdef_secret", "worker.id", "local-worker-1"));
        Path file = RunningFarmFile.in(dir);
        RunningFarmFile.write(file, up);

        assertThat(RunningFarmFile.live(file)).contains(file);
        FarmConfig read = ConfigLoader.load(file, Map.of(), Map.of());
        assertThat(read.kafka().bootstrapServers()).isEqualTo("127.0.0.1:4567");
        assertThat(read.apiUrl()).isEqualTo("http://127.0.0.1:8181");
        assertThat(read.apiToken()).isEqualTo("farm_0123456789abcdef_secret");
        assertThat(read.get(ConfigKeys.WORKER_ID)).as("worker settings are not a client's").isNotEqualTo("local-worker-1");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");

        // a farm killed without deleting its file: the process is gone, the file is ignored
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Files.writeString(file, Files.readString(file).replaceFirst("# pid \\d+", "# pid " + gone.pid()));
        assertThat(RunningFarmFile.live(file)).isEmpty();

        RunningFarmFile.delete(file);
        assertThat(file).doesNotExist();
        assertThat(RunningFarmFile.live(file)).isEmpty();
    }
}
