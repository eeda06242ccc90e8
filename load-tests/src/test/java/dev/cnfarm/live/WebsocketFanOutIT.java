package dev.cnfarm.live;

import dev.cnfarm.loadtests.SimulatedFarm;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.coordinator.live.ClientSession;
import dev.cnfarm.loadtests.live.ResultFollower;
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
        List<WebSocket> sockets = new ArrayList<>();
        try (SimulatedFarm farm = SimulatedFarm.start(base, dir, 6, 5, "fan")) {
            String control = farm.upload(Files.readAllBytes(Path.of("../samples/control/house.png")));
            FarmClient client = farm.client();
            StringBuilder seeds = new StringBuilder();
            for (int i = 0; i < TASKS; i++) {
                seeds.append(i == 0 ? "" : ",").append(i);
            }
            String job = client.submit("""
                    {"name": "fan-out", "prompts": ["p"], "control_images": ["%s"], "seeds": [%s], "steps": 4,
                     "width": 64, "height": 64, "model": "%s"}
                    """.formatted(control, seeds, SimulatedRenderer.MODEL_ID), null, false).get("job_id").asText();

            HttpClient http = HttpClient.newHttpClient();
            String wsUrl = farm.url().replace("http://", "ws://") + "/ws";
            List<ResultFollower> followers = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < CLIENTS; i++) {
                ResultFollower f = new ResultFollower(i == 0);
                followers.add(f);
                WebSocket ws = http.newWebSocketBuilder().header("Authorization", "Bearer " + farm.token())
                        .buildAsync(URI.create(wsUrl), f).get(10, TimeUnit.SECONDS);
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
            for (ClientSession.SessionStats s : farm.coordinator().sockets().sessionStats()) {
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
            sockets.forEach(WebSocket::abort);
        }
    }
}
