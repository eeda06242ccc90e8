package dev.cnfarm.faults;

import static dev.cnfarm.faults.FaultFixture.awaitJob;
import static dev.cnfarm.faults.FaultFixture.jobJson;
import static dev.cnfarm.faults.FaultFixture.submit;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.coordinator.CoordinatorService;
import dev.cnfarm.worker.WorkerService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker restarted and the S3 server stopped for 30 s, each in the middle of a job: the job
 * completes, nothing is lost, and failures caused by the outage do not spend any task's retry budget.
 */
class InfrastructureOutageIT {
    @TempDir
    Path dir;

    @Test
    void brokerRestartMidJobLosesNothing() throws Exception {
        try (FaultFixture f = new FaultFixture(dir, Map.of());
             CoordinatorService coordinator = CoordinatorService.start(f.config);
             WorkerService worker = WorkerService.start(f.config.with(ConfigKeys.WORKER_ID, "w1"))) {
            FarmClient client = f.client(coordinator.url(f.config));
            String job = submit(client, jobJson("broker restart", List.of(f.uploadSample("house.png"), f.uploadSample("face.png")),
                    5, 10, 64, "tiny", 0));
            awaitJob(client, job, s -> s.at("/job/succeeded").asInt() >= 2, Duration.ofSeconds(120));
            long t0 = System.nanoTime();
            f.infra.restartKafka(Duration.ofSeconds(5));
            JsonNode done = awaitJob(client, job, FaultFixture::ended, Duration.ofSeconds(240));
            FarmFaultsIT.record("broker down 5 s mid-job: job done " + (System.nanoTime() - t0) / 1_000_000 + " ms after the stop");
            assertThat(done.at("/job/state").asText()).isEqualTo("succeeded");
            assertThat(done.at("/job/succeeded").asInt()).isEqualTo(10);
            assertThat(f.resultsPerTask(job)).hasSize(10);
            f.assertOutputsIntact(done);
        }
    }

    @Test
    void storageDownForThirtySecondsMidJobLosesNothing() throws Exception {
        try (FaultFixture f = new FaultFixture(dir, Map.of());
             CoordinatorService coordinator = CoordinatorService.start(f.config);
             WorkerService worker = WorkerService.start(f.config.with(ConfigKeys.WORKER_ID, "w1"))) {
            FarmClient client = f.client(coordinator.url(f.config));
            String job = submit(client, jobJson("storage outage", List.of(f.uploadSample("mountains.png"), f.uploadSample("pose.png")),
                    5, 10, 64, "tiny", 0));
            awaitJob(client, job, s -> s.at("/job/succeeded").asInt() >= 2, Duration.ofSeconds(120));
            f.infra.stopS3();
            Thread.sleep(30_000);
            f.infra.startS3();
            long t0 = System.nanoTime();
            JsonNode done = awaitJob(client, job, FaultFixture::ended, Duration.ofSeconds(240));
            FarmFaultsIT.record("S3 down 30 s mid-job: job done " + (System.nanoTime() - t0) / 1_000_000 + " ms after S3 came back");
            assertThat(done.at("/job/state").asText()).isEqualTo("succeeded");
            assertThat(done.at("/job/succeeded").asInt()).isEqualTo(10);
            long storageFailures = f.events(job).stream().filter(e -> e.hasFailed()).count();
            assertThat(storageFailures).as("the outage was felt").isGreaterThan(0);
            assertThat(f.events(job)).filteredOn(e -> e.hasFailed()).allSatisfy(e -> assertThat(e.getFailed().getRetryable()).isTrue());
            f.assertOutputsIntact(done);
        }
    }
}
