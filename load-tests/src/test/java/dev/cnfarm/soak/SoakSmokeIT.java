package dev.cnfarm.soak;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.loadtests.soak.SoakBenchmark;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The soak's short run in CI: 40 s of faults (a worker SIGKILLed and replaced every 10 s, the
 * coordinator SIGKILLed and restarted once) on a 600-task job, against processes of the built
 * jar. Nothing may be lost, every recorded output must match its sha256, and the report is written
 * under {@code target/reports/soak-smoke}.
 */
class SoakSmokeIT {
    @Test
    void killingWorkersAndTheCoordinatorLosesNoTask() throws Exception {
        Path root = Path.of("..");
        SoakBenchmark.Options o = new SoakBenchmark.Options(root, Path.of("target/reports/soak-smoke"), 40, 2, 600, 50, 10, 25, 7);
        SoakBenchmark.Result r = SoakBenchmark.run(o);
        SoakBenchmark.writeReport(o, r);

        assertThat(r.workerKills()).as("faults staged").isGreaterThanOrEqualTo(2);
        assertThat(r.coordinatorKills()).isEqualTo(1);
        assertThat(r.lost()).as("tasks that never ended").isZero();
        assertThat(r.succeeded()).isEqualTo(600);
        assertThat(r.outputsBad()).isZero();
        assertThat(r.outputsChecked()).isEqualTo(600);
        assertThat(Files.readString(o.reportDir().resolve("README.md"))).contains("| **lost** (never ended) | **0** |");
        assertThat(Files.size(o.reportDir().resolve("timeline.png"))).isGreaterThan(5_000);
    }
}
