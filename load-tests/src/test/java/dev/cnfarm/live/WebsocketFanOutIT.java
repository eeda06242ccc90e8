package dev.cnfarm.live;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.embedded.LocalInfrastructure;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.coordinator.CoordinatorService;
import dev.cnfarm.coordinator.live.ClientSession;
import dev.cnfarm.loadtests.live.ResultFollower;
import dev.cnfarm.worker.WorkerService;
import dev.cnfarm.worker.render.RendererRegistry;
import dev.cnfarm.worker.render.SimulatedRenderer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 100 websocket clients follow one job while simulated workers run it; one client stops reading
 * after its first frame. Every other client must receive a result for every task, and the stalled
 * one must cost the coordinator bounded memory. Also measures the fan-out rate.
 */
class WebsocketFanOutIT {
    private static final int CLIENTS = 100;
    private static final int TASKS = 300;

    @TempDir
    Path dir;

    @Test
    void everyClientButTheStalledOneGetsEveryResult() throws Exception {
        FarmConfig base = FarmTestInfra.testConfig(Map.of("coordinator.port", "0", "worker.heartbeat-ms", "500"));
        List<WorkerService> workers = new ArrayList<>();
        List<WebSocket> sockets = new ArrayList<>();
        try (LocalInfrastructure infra = LocalInfrastructure.start(base, dir, 0, 0, Map.of());
             ObjectStore store = new MinioObjectStore(infra.config().s3());
             CoordinatorService coordinator = CoordinatorService.start(infra.config())) {
            FarmConfig config = infra.config();
            try {
            for (int i = 0; i < 6; i++) {
                workers.add(WorkerService.start(config.with(ConfigKeys.WORKER_ID, "fan-" + i), RendererRegistry.simulated(5)));
            }
            byte[] png = Files.readAllBytes(Path.of("../samples/control/house.png"));
            String control = store.put(ObjectKeys.upload("default", Sha256.of(png)), png, "image/png").key();
            FarmClient client = new FarmClient(coordinator.url(config));
            StringBuilder seeds = new StringBuilder();
            for (int i = 0; i < TASKS; i++) {
                seeds.append(i == 0 ? "" : ",").append(i);
            }
            String job = client.submit("""
                    {"name": "fan-out", "prompts": ["p"], "control_images": ["%s"], "seeds": [%s], "steps": 4,
                     "width": 64, "height": 64, "model": "%s"}
                    """.formatted(control, seeds, SimulatedRenderer.MODEL_ID), null, false).get("job_id").asText();

            HttpClient http = HttpClient.newHttpClient();
            String wsUrl = coordinator.url(config).replace("http://", "ws://") + "/ws";
            List<ResultFollower> followers = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < CLIENTS; i++) {
                ResultFollower f = new ResultFollower(i == 0);
                followers.add(f);
                WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create(wsUrl), f).get(10, TimeUnit.SECONDS);
                ws.sendText("{\"type\":\"subscribe\",\"jobs\":[\"" + job + "\"]}", true).get(5, TimeUnit.SECONDS);
                sockets.add(ws);
            }
            Awaitility.await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(200))
                    .until(() -> followers.stream().skip(1).allMatch(f -> f.results() == TASKS));
            double seconds = (System.nanoTime() - t0) / 1e9;

            for (ResultFollower f : followers.subList(1, CLIENTS)) {
                assertThat(f.results()).isEqualTo(TASKS);
            }
            ResultFollower stalled = followers.get(0);
            assertThat(stalled.frames()).as("the stalled client read one frame").isLessThanOrEqualTo(1);
            for (ClientSession.SessionStats s : coordinator.sockets().sessionStats()) {
                assertThat(s.queued()).isLessThanOrEqualTo(ClientSession.MAX_QUEUED);
            }
            long events = followers.stream().mapToLong(ResultFollower::events).sum();
            long frames = followers.stream().mapToLong(ResultFollower::frames).sum();
            double perClientFrames = (double) followers.get(1).frames() / seconds;
            String line = String.format("websocket fan-out: %d clients (1 stalled), %d-task job: %.0f events/s and %.0f frames/s delivered "
                            + "in all over %.1f s; %.1f frames/s per client%n", CLIENTS, TASKS, events / seconds, frames / seconds, seconds,
                    perClientFrames);
            System.out.print(line);
            Files.writeString(Path.of("target/live-measurements.txt"), line, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            assertThat(perClientFrames).as("frames per second to one client").isLessThan(15);
            } finally {
                // before the broker and S3 server stop, or the workers wait on them
                sockets.forEach(WebSocket::abort);
                workers.forEach(WorkerService::close);
            }
        }
    }
}
