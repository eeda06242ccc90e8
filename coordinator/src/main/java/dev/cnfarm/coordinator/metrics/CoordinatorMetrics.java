package dev.cnfarm.coordinator.metrics;

import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.coordinator.http.LiveSocket;
import dev.cnfarm.coordinator.state.JobSummary;
import dev.cnfarm.coordinator.state.JobView;
import dev.cnfarm.coordinator.state.WorkerSnapshot;
import dev.cnfarm.coordinator.state.WorkerView;
import dev.cnfarm.proto.v1.TaskPhase;
import dev.cnfarm.proto.v1.TaskStateRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.ext.web.Router;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

/**
 * The coordinator's metrics in Prometheus' text format at {@code /metrics}: tasks by state and
 * worker pool (what an autoscaler scales each pool's workers on), jobs by state, workers by health, websocket sessions, task
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
    /** farm_tasks{state, pool}: rows change as pools come and go, so they are set afresh at each scrape. */
    private final MultiGauge tasks;

    public CoordinatorMetrics(JobView view, WorkerView workers, LiveSocket sockets, BooleanSupplier live) {
        this.view = view;
        this.live = live;
        this.tasks = MultiGauge.builder("farm_tasks")
                .description("tasks of unfinished jobs by state and worker pool (queued: not started yet, released or held back)")
                .register(registry);
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

    private static final List<String> TASK_STATES = List.of("queued", "running", "succeeded", "failed", "cancelled");

    /**
     * Sets farm_tasks for every pool with unfinished jobs, and for the default pool always (an
     * autoscaler asking for it must see 0, not nothing). Only jobs still going count: finished
     * jobs would make the gauges grow forever.
     */
    private void refreshTasks() {
        Map<String, double[]> byPool = new TreeMap<>();
        byPool.put(Topics.DEFAULT_POOL, new double[TASK_STATES.size()]);
        for (JobSummary j : view.allSummaries()) {
            if (List.of("succeeded", "failed", "cancelled").contains(j.state())) {
                continue;
            }
            double[] n = byPool.computeIfAbsent(j.pool(), p -> new double[TASK_STATES.size()]);
            n[0] += j.queued();
            n[1] += j.running();
            n[2] += j.succeeded();
            n[3] += j.failed();
            n[4] += j.cancelled();
        }
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        byPool.forEach((pool, n) -> {
            for (int i = 0; i < TASK_STATES.size(); i++) {
                rows.add(MultiGauge.Row.of(Tags.of("state", TASK_STATES.get(i), "pool", pool), n[i]));
            }
        });
        tasks.register(rows, true);
    }

    /** The registry in Prometheus' text format, gauges brought up to date first. */
    public synchronized String scrape() {
        refreshTasks();
        return registry.scrape();
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
                .end(scrape()));
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }
}
