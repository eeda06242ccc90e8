package dev.cnfarm.loadtests.report;

import dev.cnfarm.common.config.KafkaSettings;
import dev.cnfarm.common.kafka.ProtoCodec;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.loadtests.JobTopics;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.TaskPhase;
import dev.cnfarm.proto.v1.TaskStateRecord;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.HdrHistogram.Histogram;

/**
 * Per-task latencies of one finished job, read back from the farm's own topics after the run, so
 * measuring adds nothing to the run itself: dispatch latency (the scheduler released the task to a
 * worker started it, from the task-state records) and result latency (the worker sent its result
 * to the scheduler recorded it, the result event's time against the succeeded record's). Times
 * are milliseconds from the processes' clocks, which on one machine are the same clock.
 */
public final class TaskLatencies {
    /** Percentiles in milliseconds. */
    public record Percentiles(long count, double p50, double p90, double p99, double p999, double max) {
        static Percentiles of(Histogram h) {
            return new Percentiles(h.getTotalCount(), h.getValueAtPercentile(50), h.getValueAtPercentile(90), h.getValueAtPercentile(99),
                    h.getValueAtPercentile(99.9), h.getMaxValue());
        }

        /** A Markdown table row: count, then the percentiles in ms. */
        public String row() {
            return String.format("%,d | %.0f | %.0f | %.0f | %.0f | %.0f", count, p50, p90, p99, p999, max);
        }
    }

    public static final String TABLE_HEADER = "count | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms";

    private static final long HIGHEST_MS = Duration.ofHours(2).toMillis();

    private final Histogram dispatch = new Histogram(HIGHEST_MS, 3);
    private final Histogram result = new Histogram(HIGHEST_MS, 3);

    private TaskLatencies() {}

    /** Reads the job's task events and task states as they stand now (the job should have ended). */
    public static TaskLatencies read(KafkaSettings kafka, Topics topics, String jobId) {
        TaskLatencies l = new TaskLatencies();
        Map<String, Long> resultSentAt = new HashMap<>();
        JobTopics.replay(kafka, topics.taskEvents(), r -> ProtoCodec.parse(TaskEvent.parser(), r.value(), r.topic(), r.offset())
                .filter(e -> e.getJobId().equals(jobId) && e.hasResult())
                .ifPresent(e -> resultSentAt.put(e.getTaskId() + "/" + e.getRelease() + "/" + e.getAttempt(), e.getAtMs())));
        JobTopics.replay(kafka, topics.taskState(), r -> {
            Optional<TaskStateRecord> s = ProtoCodec.parse(TaskStateRecord.parser(), r.value(), r.topic(), r.offset())
                    .filter(t -> t.getJobId().equals(jobId));
            if (s.isEmpty()) {
                return;
            }
            TaskStateRecord t = s.get();
            if (t.getPhase() == TaskPhase.TASK_PHASE_RUNNING && t.getReleasedAtMs() > 0 && t.getStartedAtMs() >= t.getReleasedAtMs()) {
                l.dispatch.recordValue(Math.min(HIGHEST_MS, t.getStartedAtMs() - t.getReleasedAtMs()));
            } else if (t.getPhase() == TaskPhase.TASK_PHASE_SUCCEEDED) {
                Long sent = resultSentAt.get(t.getTaskId() + "/" + t.getRelease() + "/" + t.getDelivery());
                if (sent != null && t.getUpdatedAtMs() >= sent) {
                    l.result.recordValue(Math.min(HIGHEST_MS, t.getUpdatedAtMs() - sent));
                }
            }
        });
        return l;
    }

    public Percentiles dispatch() {
        return Percentiles.of(dispatch);
    }

    public Percentiles result() {
        return Percentiles.of(result);
    }

    /** Latency against percentile (50 to 100), one series per kind, for a chart. */
    public Map<String, Map<Double, Double>> percentileCurves() {
        Map<String, Map<Double, Double>> out = new LinkedHashMap<>();
        out.put("dispatch (released to started)", curve(dispatch));
        out.put("result (sent to recorded)", curve(result));
        return out;
    }

    private static Map<Double, Double> curve(Histogram h) {
        Map<Double, Double> points = new LinkedHashMap<>();
        if (h.getTotalCount() == 0) {
            return points;
        }
        for (double p : new double[] {50, 60, 70, 80, 90, 95, 97.5, 99, 99.5, 99.9, 100}) {
            points.put(p, (double) h.getValueAtPercentile(p));
        }
        return points;
    }
}
