package dev.cnfarm.coordinator.notify;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.coordinator.state.JobSummary;
import dev.cnfarm.coordinator.state.JobUpdate;
import dev.cnfarm.coordinator.state.JobView;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls a job's {@code webhook_url} with a POST when the job ends, and again with growing waits
 * until the receiver answers 2xx or the attempts run out. Only the coordinator that runs the
 * scheduler calls (so two coordinators do not both call), and only for endings it sees live, not
 * for finished jobs replayed at start. Delivery is at least once while that coordinator stays up:
 * receivers should treat the {@code X-Farm-Delivery} header (the job id) as an idempotency key.
 */
public final class WebhookNotifier implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WebhookNotifier.class);
    private static final Set<String> FINAL = Set.of("succeeded", "failed", "cancelled");

    private final JobView view;
    private final BooleanSupplier live;
    private final int attempts;
    private final long backoffMs;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ScheduledExecutorService pool = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "webhooks");
        t.setDaemon(true);
        return t;
    });
    private final Set<String> notified = ConcurrentHashMap.newKeySet();

    /**
     * @param live true when an ending should be announced: the view has caught up with Kafka and
     *             this coordinator holds the scheduler
     */
    public WebhookNotifier(JobView view, BooleanSupplier live, int attempts, long backoffMs) {
        this.view = view;
        this.live = live;
        this.attempts = attempts;
        this.backoffMs = backoffMs;
        view.onUpdate(this::onUpdate);
    }

    private void onUpdate(JobUpdate u) {
        JobSummary job = u.job();
        if (!"job".equals(u.type()) || !FINAL.contains(job.state()) || !live.getAsBoolean()) {
            return;
        }
        String url = view.record(job.jobId()).map(r -> r.getSpec().getWebhookUrl()).orElse("");
        if (url.isEmpty() || !notified.add(job.jobId())) {
            return;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("event", "job.finished");
        body.put("job", job);
        String json;
        try {
            json = Json.mapper().writeValueAsString(body);
        } catch (Exception e) {
            LOG.error("webhook body for job {} could not be made", job.jobId(), e);
            return;
        }
        pool.execute(() -> call(job.jobId(), url, json, 1));
    }

    private void call(String jobId, String url, String json, int attempt) {
        int status = -1;
        String problem;
        try {
            HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                    .header("content-type", "application/json").header("X-Farm-Event", "job.finished")
                    .header("X-Farm-Delivery", jobId).header("X-Farm-Attempt", String.valueOf(attempt))
                    .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.discarding());
            status = r.statusCode();
            if (status / 100 == 2) {
                LOG.info("webhook for job {} delivered on attempt {}", jobId, attempt);
                return;
            }
            problem = "HTTP " + status;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (Exception e) {
            problem = e.toString();
        }
        if (attempt >= attempts) {
            LOG.warn("webhook for job {} to {} gave up after {} attempts: {}", jobId, url, attempt, problem);
            return;
        }
        long wait = backoffMs << Math.min(attempt - 1, 16);
        LOG.info("webhook for job {} failed on attempt {} ({}); again in {} ms", jobId, attempt, problem, wait);
        pool.schedule(() -> call(jobId, url, json, attempt + 1), wait, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
