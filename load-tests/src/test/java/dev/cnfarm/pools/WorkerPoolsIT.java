package dev.cnfarm.pools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.loadtests.SimulatedFarm;
import dev.cnfarm.worker.WorkerService;
import dev.cnfarm.worker.render.RendererRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Task requirements end to end: a job that names a worker pool runs only on that pool's workers,
 * a job that names none only on the default pool's, on a real broker with the share group.
 */
class WorkerPoolsIT {
    @TempDir
    Path dir;

    @Test
    void aJobNamingAPoolRunsOnlyOnThatPoolsWorkers() throws Exception {
        FarmConfig base = ConfigLoader.defaults(Map.of("coordinator.port", "0", "worker.heartbeat-ms", "500"));
        try (SimulatedFarm farm = SimulatedFarm.start(base, dir, 1, 20, "plain");
             WorkerService big = WorkerService.start(farm.config().with(ConfigKeys.WORKER_ID, "big-0")
                     .with(ConfigKeys.WORKER_POOL, "gpu48"), RendererRegistry.simulated(20))) {
            FarmClient client = farm.client();
            String control = farm.upload(Files.readAllBytes(Path.of("../samples/control/house.png")));
            String plainJob = client.submit(SimulatedFarm.matrixJob("plain", control, 20, 0), null, false).get("job_id").asText();
            String poolJob = client.submit(SimulatedFarm.matrixJob("needs gpu48", control, 20, 0).replaceFirst("\\{", "{\"pool\": \"gpu48\", "),
                    null, false).get("job_id").asText();

            JsonNode plain = awaitEnded(client, plainJob);
            JsonNode pool = awaitEnded(client, poolJob);
            assertThat(pool.at("/job/state").asText()).isEqualTo("succeeded");
            assertThat(pool.at("/job/pool").asText()).isEqualTo("gpu48");
            assertThat(pool.get("tasks")).hasSize(20).allSatisfy(t -> assertThat(t.get("worker").asText()).isEqualTo("big-0"));
            assertThat(plain.at("/job/state").asText()).isEqualTo("succeeded");
            assertThat(plain.at("/job/pool").asText()).isEqualTo("default");
            assertThat(plain.get("tasks")).hasSize(20).allSatisfy(t -> assertThat(t.get("worker").asText()).isEqualTo("plain-0"));
            assertThat(client.workers().get("workers")).anySatisfy(w -> {
                assertThat(w.get("worker_id").asText()).isEqualTo("big-0");
                assertThat(w.get("pool").asText()).isEqualTo("gpu48");
            });
        }
    }

    private static JsonNode awaitEnded(FarmClient client, String job) {
        JsonNode[] last = new JsonNode[1];
        Awaitility.await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> {
            last[0] = client.job(job);
            String s = last[0].at("/job/state").asText();
            return s.equals("succeeded") || s.equals("failed") || s.equals("cancelled");
        });
        return last[0];
    }
}
