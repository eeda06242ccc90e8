package dev.cnfarm.worker.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.DoubleSupplier;

/**
 * One worker's metrics in Prometheus' text format: tasks ended by outcome and cause, step time and
 * task time histograms, whether it is busy, its recent images/s, its GPU memory, and the JVM's own
 * meters. Every meter carries the worker's id, so several workers in one process stay apart.
 */
public final class WorkerMetrics implements AutoCloseable {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Tags tags;
    private final Timer step;
    private final JvmGcMetrics gc = new JvmGcMetrics();

    public WorkerMetrics(String workerId, BooleanSupplier busy, DoubleSupplier imagesPerSecond, GpuMemory gpu) {
        this.tags = Tags.of("worker", workerId);
        Gauge.builder("farm_worker_busy", () -> busy.getAsBoolean() ? 1 : 0).tags(tags)
                .description("1 while the worker renders a task").register(registry);
        Gauge.builder("farm_worker_images_per_second", imagesPerSecond::getAsDouble).tags(tags)
                .description("images finished per second over the last minute").register(registry);
        Gauge.builder("farm_worker_gpu_memory_bytes", () -> gpu.read().map(GpuMemory.Reading::totalBytes).orElse(0L))
                .tags(tags.and("kind", "total")).description("GPU memory; 0 on the CPU provider").register(registry);
        Gauge.builder("farm_worker_gpu_memory_bytes", () -> gpu.read().map(GpuMemory.Reading::usedBytes).orElse(0L))
                .tags(tags.and("kind", "used")).description("GPU memory; 0 on the CPU provider").register(registry);
        this.step = Timer.builder("farm_worker_step").tags(tags)
                .description("one denoising step, from the end of the step before (setup before the first step is not counted)")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(1))
                .register(registry);
        new JvmMemoryMetrics(tags).bindTo(registry);
        new JvmThreadMetrics(tags).bindTo(registry);
        new ProcessorMetrics(tags).bindTo(registry);
        gc.bindTo(registry);
    }

    public void stepDone(Duration d) {
        step.record(d);
    }

    /**
     * @param outcome {@code succeeded}, {@code failed} or {@code given_back}
     * @param cause   the failure cause, {@code none} for a success
     */
    public void taskEnded(String outcome, String cause, Duration took) {
        Counter.builder("farm_worker_tasks").tags(tags.and("outcome", outcome, "cause", cause))
                .description("tasks this worker ended, by outcome and failure cause").register(registry).increment();
        Timer.builder("farm_worker_task").tags(tags.and("outcome", outcome))
                .description("a task from taking it to settling it: control map, render, upload, result")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofHours(1))
                .register(registry).record(took);
    }

    /** A lock renewal was refused mid-render: the attempt stops and stores nothing. */
    public void attemptFenced() {
        Counter.builder("farm_worker_attempts_fenced").tags(tags)
                .description("attempts stopped because the worker lost its lock on the task (renewal refused)").register(registry).increment();
    }

    public String scrape() {
        return registry.scrape();
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
