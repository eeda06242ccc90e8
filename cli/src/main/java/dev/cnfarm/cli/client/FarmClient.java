package dev.cnfarm.cli.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.storage.Sha256;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** The coordinator's REST API and websockets, as the CLI uses them (JDK HTTP client). */
public final class FarmClient {
    private final String base;
    private final String token;
    private final HttpClient http;

    /**
     * @param token the API token sent as {@code Authorization: Bearer}, or null or empty for none
     *              (a coordinator with {@code coordinator.auth=off})
     */
    public FarmClient(String baseUrl, String token) {
        this.base = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.token = token == null ? "" : token.trim();
        // HTTP/1.1: the JDK client's h2c upgrade of a plain-http connection failed on large answers (a 3 MB job snapshot
        // read as an HTTP/2 frame), and HTTP/2 buys nothing against one coordinator
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** A client for the coordinator and token the configuration names ({@code api.url}, {@code api.token}). */
    public static FarmClient of(dev.cnfarm.common.config.FarmConfig config) {
        return new FarmClient(config.apiUrl(), config.apiToken());
    }

    /** A request to the coordinator, with the token when there is one (never to S3: presigned URLs carry their own). */
    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri);
        if (!token.isEmpty()) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    public String baseUrl() {
        return base;
    }

    /**
     * Uploads a local file by content address: asks the coordinator for the key (and a presigned
     * PUT URL unless the farm has the file already), then sends the bytes straight to S3.
     *
     * @return the object key to name in a job
     */
    public String upload(Path file) {
        try {
            byte[] data = Files.readAllBytes(file);
            JsonNode answer = locate(data);
            if (!answer.path("exists").asBoolean()) {
                HttpResponse<String> put = http.send(HttpRequest.newBuilder(URI.create(answer.get("upload_url").asText()))
                        .timeout(Duration.ofMinutes(5))
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(data)).build(), HttpResponse.BodyHandlers.ofString());
                if (put.statusCode() / 100 != 2) {
                    throw new ApiException(put.statusCode(), "upload of " + file + " to storage failed with HTTP " + put.statusCode());
                }
            }
            return answer.get("key").asText();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot upload " + file + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * Where a local file goes (or already is) in the farm, without uploading anything: the answer
     * has {@code key}, {@code exists} and, when it does not exist yet, {@code upload_url}.
     */
    public JsonNode locate(Path file) {
        try {
            return locate(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private JsonNode locate(byte[] data) {
        ObjectNode req = Json.mapper().createObjectNode();
        req.put("sha256", Sha256.of(data));
        req.put("size_bytes", data.length);
        return send(post("/api/v1/uploads", req.toString(), null));
    }

    /** Posts a job; returns the coordinator's answer (job id and quote). */
    public JsonNode submit(String jobJson, String idempotencyKey, boolean dryRun) {
        return send(post("/api/v1/jobs" + (dryRun ? "?dry_run=true" : ""), jobJson, idempotencyKey));
    }

    public JsonNode job(String jobId) {
        return send(request(uri("/api/v1/jobs/" + encode(jobId))).GET().build());
    }

    /** The tenant's jobs, newest first, as summaries. */
    public JsonNode jobs() {
        return send(request(uri("/api/v1/jobs")).GET().build());
    }

    public JsonNode workers() {
        return send(request(uri("/api/v1/workers")).GET().build());
    }

    /** A training task's loss curve and sample scores as the coordinator has seen them. */
    public JsonNode training(String jobId, int task) {
        return send(request(uri("/api/v1/jobs/" + encode(jobId) + "/tasks/" + task + "/training")).GET().build());
    }

    public JsonNode outputs(String jobId) {
        return send(request(uri("/api/v1/jobs/" + encode(jobId) + "/outputs")).GET().build());
    }

    /** Cancels a job: its unreleased tasks are dropped at once, running ones stop at their next step. */
    public JsonNode cancel(String jobId) {
        return send(post("/api/v1/jobs/" + encode(jobId) + "/cancel", "", null));
    }

    /** Suspends a job: nothing more of it is released until it is resumed; running tasks finish. */
    public JsonNode suspend(String jobId) {
        return send(post("/api/v1/jobs/" + encode(jobId) + "/suspend", "", null));
    }

    public JsonNode resume(String jobId) {
        return send(post("/api/v1/jobs/" + encode(jobId) + "/resume", "", null));
    }

    /** Sets a job's priority (-100..100; higher goes first). */
    public JsonNode setPriority(String jobId, int priority) {
        return send(request(uri("/api/v1/jobs/" + encode(jobId) + "/priority")).timeout(Duration.ofMinutes(1))
                .header("content-type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"priority\": " + priority + "}")).build());
    }

    /** Downloads a URL's body (presigned output links). */
    public byte[] fetch(String url) {
        try {
            HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(5)).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200) {
                throw new ApiException(r.statusCode(), "download failed with HTTP " + r.statusCode());
            }
            return r.body();
        } catch (IOException e) {
            throw new UncheckedIOException("download failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Opens the job's websocket; frames go to the listener. */
    public CompletableFuture<WebSocket> openJobSocket(String jobId, WebSocket.Listener listener) {
        URI ws = URI.create(base.replaceFirst("^http", "ws") + "/ws/jobs/" + encode(jobId));
        return webSocketBuilder().buildAsync(ws, listener);
    }

    private HttpRequest post(String path, String body, String idempotencyKey) {
        HttpRequest.Builder b = request(uri(path)).timeout(Duration.ofMinutes(2))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (idempotencyKey != null) {
            b.header("Idempotency-Key", idempotencyKey);
        }
        return b.build();
    }

    private JsonNode send(HttpRequest request) {
        HttpResponse<String> r;
        try {
            r = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot reach the coordinator at " + base + ": " + e, e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        JsonNode body;
        try {
            body = Json.mapper().readTree(r.body());
        } catch (IOException e) {
            throw new ApiException(r.statusCode(), "the coordinator answered HTTP " + r.statusCode() + " with a body that is not JSON");
        }
        if (r.statusCode() / 100 != 2) {
            throw new ApiException(r.statusCode(), describeError(body));
        }
        return body;
    }

    /** "invalid job: ..." followed by one line per field. */
    static String describeError(JsonNode body) {
        StringBuilder s = new StringBuilder(body.path("error").asText("request refused"));
        for (JsonNode f : body.path("fields")) {
            s.append("\n  ").append(f.path("field").asText()).append(": ").append(f.path("message").asText());
        }
        return s.toString();
    }

    private WebSocket.Builder webSocketBuilder() {
        WebSocket.Builder b = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10));
        if (!token.isEmpty()) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    private URI uri(String path) {
        return URI.create(base + path);
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
