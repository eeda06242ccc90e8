package dev.cnfarm.scaling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.loadtests.scaling.ScalingBenchmark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The scaling benchmark's short run in CI: the whole scenario (embedded farm, simulated GPUs at
 * two worker counts, latency read-back, charts) on 100 tasks, writing its report under
 * {@code target/reports/scaling-smoke} so the committed full report is left alone.
 */
class ScalingSmokeIT {
    @Test
    void shortScalingRunWritesAReportWithEveryRowAndItsCharts() throws Exception {
        Path dir = Path.of("target/reports/scaling-smoke");
        ScalingBenchmark.main(new String[] {"--root", "..", "--tasks", "100", "--workers", "1,4", "--compare-task-partitions", "0",
                "--report-dir", dir.toString()});
        String md = Files.readString(dir.resolve("README.md"));
        assertThat(md).contains("one job of 100 tasks").containsPattern("\\| 1 \\| 1 \\| [0-9.]+ s \\|")
                .containsPattern("\\| 4 \\| 1 \\| [0-9.]+ s \\|");
        // every task's dispatch and result latency was found on Kafka
        assertThat(md).containsPattern("\\| 1 \\| 1 \\| dispatch \\| 100 \\|").containsPattern("\\| 4 \\| 1 \\| result \\| 100 \\|");
        for (String png : List.of("efficiency.png", "throughput.png", "latency.png")) {
            assertThat(Files.size(dir.resolve(png))).as(png).isGreaterThan(5_000);
        }
    }
}
