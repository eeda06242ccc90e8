package dev.cnfarm.worker.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The worker's small HTTP face for Prometheus and Kubernetes: {@code /metrics}, {@code /health}
 * (the process answers: liveness) and {@code /health/ready} (200 while it takes work, 503 while
 * starting, draining, stopped or unhealthy). The JDK's built-in server is enough for three
 * read-only paths and keeps a web framework out of the worker.
 */
public final class WorkerEndpoints implements AutoCloseable {
    /** What the health paths report. */
    /** What the health paths answer, as JSON; {@code reason} says why a worker is not ready. */
    public record Health(String worker, String state, boolean ready, String reason) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final ExecutorService executor;

    private WorkerEndpoints(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * @param port 0 for any free port
     * @throws UncheckedIOException naming the setting when the port cannot be bound
     */
    public static WorkerEndpoints start(String host, int port, WorkerMetrics metrics, Supplier<Health> health) {
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 16);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve worker metrics on " + host + ":" + port + " (" + e.getMessage()
                    + "); set worker.metrics-port to a free port, 0 for any, or -1 for none", e);
        }
        server.createContext("/metrics", ex -> send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape()));
        server.createContext("/health/ready", ex -> {
            Health h = health.get();
            send(ex, h.ready() ? 200 : 503, "application/json", JSON.writeValueAsString(h));
        });
        server.createContext("/health", ex -> {
            if (!ex.getRequestURI().getPath().equals("/health")) {
                send(ex, 404, "text/plain", "not found");
                return;
            }
            send(ex, 200, "application/json", JSON.writeValueAsString(health.get()));
        });
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "worker-metrics");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.start();
        return new WorkerEndpoints(server, executor);
    }

    private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("content-type", type);
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
