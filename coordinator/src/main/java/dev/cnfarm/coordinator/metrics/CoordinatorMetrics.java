package dev.cnfarm.coordinator.metrics;

import dev.cnfarm.coordinator.http.LiveSocket;
import dev.cnfarm.coordinator.state.JobSummary;
import dev.cnfarm.coordinator.state.JobView;
import dev.cnfarm.coordinator.state.WorkerSnapshot;
import dev.cnfarm.coordinator.state.WorkerView;
import dev.cnfarm.proto.v1.TaskPhase;
import dev.cnfarm.proto.v1.TaskStateRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.ext.web.Router;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.BooleanSupplier;
import java.util.function.ToDoubleFunction;

/**
 * The coordinator's metrics in Prometheus' text format at {@code /metrics}: tasks by state (what
 * an autoscaler scales workers on), jobs by state, workers by health, websocket sessions, task
 * outcomes by cause, dispatch latency (released to started) and render time. Gauges are computed
 * from the job view when scraped; counters and timers count only what this coordinator sees live,
 * not what it replays at start.
 */
public final class CoordinatorMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JobView view;
    private final BooleanSupplier live;
    private final Timer dispatch;
    private final Timer render;

    public CoordinatorMetrics(JobView view, WorkerView workers, LiveSocket sockets, BooleanSupplier live) {
        this.view = view;
        this.live = live;
        for (String state : List.of("queued", "running", "succeeded", "failed", "cancelled")) {
            Gauge.builder("farm_tasks", view, v -> sum(v, state)).tag("state", state)
                    .description("tasks of unfinished jobs by state (queued: not started yet, released or held back)").register(registry);
        }
        for (String state : List.of("submitted", "running", "suspended", "succeeded", "failed", "cancelled")) {
            Gauge.builder("farm_jobs", view, v -> v.allSummaries().stream().filter(j -> j.state().equals(state)).count())
                    .tag("state", state).description("jobs by state").register(registry);
        }
        Gauge.builder("farm_workers", workers, w -> w.list().stream().filter(WorkerSnapshot::healthy).count()).tag("health", "healthy")
                .description("workers by health, from their heartbeats").register(registry);
        Gauge.builder("farm_workers", workers, w -> w.list().stream().filter(s -> !s.healthy()).count()).tag("health", "unhealthy")
                .register(registry);
        Gauge.builder("farm_websocket_sessions", sockets, s -> s.sessionStats().size()).description("open websocket sessions")
                .register(registry);
        this.dispatch = Timer.builder("farm_dispatch_latency").description("task released by the scheduler to started by a worker")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(10))
                .register(registry);
        this.render = Timer.builder("farm_task_render").description("render time of succeeded tasks, as workers report it")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofHours(1))
                .register(registry);
        view.onTaskState(this::onTaskState);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
    }

    private static double sum(JobView v, String state) {
        ToDoubleFunction<JobSummary> f = switch (state) {
            case "queued" -> JobSummary::queued;
            case "running" -> JobSummary::running;
            case "succeeded" -> JobSummary::succeeded;
            case "failed" -> JobSummary::failed;
            default -> JobSummary::cancelled;
        };
        // only jobs still going: finished jobs would make the gauges grow forever
        return v.allSummaries().stream().filter(j -> !List.of("succeeded", "failed", "cancelled").contains(j.state())).mapToDouble(f).sum();
    }

    private void onTaskState(TaskStateRecord s) {
        if (!live.getAsBoolean()) {
            return;
        }
        if (s.getPhase() == TaskPhase.TASK_PHASE_RUNNING && s.getReleasedAtMs() > 0 && s.getStartedAtMs() >= s.getReleasedAtMs()) {
            dispatch.record(Duration.ofMillis(s.getStartedAtMs() - s.getReleasedAtMs()));
        }
        String outcome = switch (s.getPhase()) {
            case TASK_PHASE_SUCCEEDED -> "succeeded";
            case TASK_PHASE_FAILED -> "failed";
            case TASK_PHASE_RETRY_WAIT -> "retrying";
            case TASK_PHASE_CANCELLED -> "cancelled";
            default -> null;
        };
        if (outcome == null) {
            return;
        }
        String cause = outcome.equals("succeeded") ? "none"
                : s.getLastCause().name().replace("FAILURE_CAUSE_", "").toLowerCase(Locale.ROOT);
        Counter.builder("farm_task_outcomes").description("task attempts ended, by outcome and failure cause")
                .tag("outcome", outcome).tag("cause", cause).register(registry).increment();
        if (outcome.equals("succeeded")) {
            render.record(Duration.ofMillis(s.getResult().getTimings().getRenderMs()));
        }
    }

    public void mount(Router router) {
        router.get("/metrics").handler(ctx -> ctx.response().putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
                .end(registry.scrape()));
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }
}
