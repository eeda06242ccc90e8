package dev.cnfarm.live;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.loadtests.SimulatedFarm;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.worker.render.SimulatedRenderer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A job's webhook is called when it ends, and called again while the receiver answers with errors. */
class WebhookIT {
    @TempDir
    Path dir;

    record Call(int attempt, String delivery, JsonNode body) {}

    @Test
    void theWebhookIsRetriedUntilTheReceiverTakesIt() throws Exception {
        List<Call> calls = new CopyOnWriteArrayList<>();
        HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hook", ex -> {
            byte[] body = ex.getRequestBody().readAllBytes();
            calls.add(new Call(Integer.parseInt(ex.getRequestHeaders().getFirst("X-Farm-Attempt")),
                    ex.getRequestHeaders().getFirst("X-Farm-Delivery"), Json.mapper().readTree(new String(body, StandardCharsets.UTF_8))));
            // the first two calls fail, as a receiver that is restarting would
            ex.sendResponseHeaders(calls.size() <= 2 ? 503 : 204, -1);
            ex.close();
        });
        receiver.start();
        FarmConfig base = FarmTestInfra.testConfig(Map.of("coordinator.port", "0", "coordinator.webhook-backoff-ms", "200"));
        try (SimulatedFarm farm = SimulatedFarm.start(base, dir, 1, 1, "hook")) {
            String control = farm.upload(Files.readAllBytes(Path.of("../samples/control/house.png")));
            FarmClient client = farm.client();
            String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
            String withHook = client.submit("""
                    {"name": "hooked", "prompts": ["p"], "control_images": ["%s"], "seeds": [1, 2, 3], "steps": 2,
                     "width": 64, "height": 64, "model": "%s", "webhook_url": "%s"}
                    """.formatted(control, SimulatedRenderer.MODEL_ID, url), null, false).get("job_id").asText();
            String without = client.submit("""
                    {"name": "quiet", "prompts": ["p"], "control_images": ["%s"], "seeds": [4], "steps": 2,
                     "width": 64, "height": 64, "model": "%s"}
                    """.formatted(control, SimulatedRenderer.MODEL_ID), null, false).get("job_id").asText();
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> calls.size() >= 3);
            Awaitility.await().atMost(Duration.ofSeconds(30))
                    .until(() -> client.job(without).at("/job/state").asText().equals("succeeded"));
            Thread.sleep(1000); // room for a wrong extra call to show up

            assertThat(calls).hasSize(3);
            assertThat(calls).extracting(Call::attempt).containsExactly(1, 2, 3);
            assertThat(calls).allMatch(c -> c.delivery().equals(withHook));
            JsonNode last = calls.get(2).body();
            assertThat(last.path("event").asText()).isEqualTo("job.finished");
            assertThat(last.at("/job/job_id").asText()).isEqualTo(withHook);
            assertThat(last.at("/job/state").asText()).isEqualTo("succeeded");
            assertThat(last.at("/job/succeeded").asInt()).isEqualTo(3);
        } finally {
            receiver.stop(0);
        }
    }
}
