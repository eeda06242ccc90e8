package dev.cnfarm.coordinator.state;

import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.proto.v1.WorkerState;
import dev.cnfarm.proto.v1.WorkerStatus;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/** The latest heartbeat of every worker, from the compacted workers topic. */
public final class WorkerView {
    /** Heartbeats missed before a worker counts as unhealthy. */
    static final int MISSED_HEARTBEATS = 5;

    private final Map<String, WorkerStatus> workers = new ConcurrentHashMap<>();
    private final long heartbeatMs;
    private final LongSupplier clock;

    public WorkerView(long heartbeatMs) {
        this(heartbeatMs, System::currentTimeMillis);
    }

    WorkerView(long heartbeatMs, LongSupplier clock) {
        this.heartbeatMs = heartbeatMs;
        this.clock = clock;
    }

    public void apply(WorkerStatus status) {
        workers.merge(status.getWorkerId(), status, (old, neu) -> neu.getAtMs() >= old.getAtMs() ? neu : old);
    }

    public List<WorkerSnapshot> list() {
        long now = clock.getAsLong();
        return workers.values().stream()
                .sorted(Comparator.comparing(WorkerStatus::getWorkerId))
                .map(w -> snapshot(w, now))
                .toList();
    }

    /**
     * What a worker renders on, as its heartbeats say (execution provider and device, e.g.
     * {@code CUDA NVIDIA H100}); {@code unknown} for a worker never heard from.
     */
    public String device(String workerId) {
        WorkerStatus w = workers.get(workerId);
        if (w == null) {
            return "unknown";
        }
        String provider = w.getExecutionProvider().isBlank() ? "unknown" : w.getExecutionProvider();
        return w.getDeviceName().isBlank() ? provider : provider + " " + w.getDeviceName();
    }

    /** Workers whose heartbeats are fresh and that have not stopped. */
    public long healthyCount() {
        return list().stream().filter(WorkerSnapshot::healthy).count();
    }

    /**
     * The task a worker holds: none once it is lost or stopped. Its last heartbeat may name a task,
     * but a silent worker's lock expires and the task goes to another worker, which may have
     * finished it long ago; showing the old id beside "lost" says the opposite.
     */
    private static String holding(WorkerStatus w, boolean fresh) {
        return fresh && w.getState() != WorkerState.WORKER_STATE_STOPPED ? w.getCurrentTaskId() : "";
    }

    private WorkerSnapshot snapshot(WorkerStatus w, long now) {
        boolean fresh = now - w.getAtMs() <= MISSED_HEARTBEATS * heartbeatMs;
        boolean healthy = fresh && w.getState() != WorkerState.WORKER_STATE_STOPPED && w.getState() != WorkerState.WORKER_STATE_UNHEALTHY;
        String state = fresh || w.getState() == WorkerState.WORKER_STATE_STOPPED
                ? w.getState().name().replace("WORKER_STATE_", "").toLowerCase(Locale.ROOT)
                : "lost";
        return new WorkerSnapshot(w.getWorkerId(), w.getHost(), state, healthy, w.getExecutionProvider(), w.getDeviceName(),
                w.getMemoryUsedBytes(), w.getMemoryTotalBytes(), List.copyOf(w.getLoadedModelsList()), holding(w, fresh),
                w.getTasksSucceeded(), w.getTasksFailed(), w.getImagesPerSecond(), w.getAtMs(), w.getStartedAtMs(),
                w.getControlMapsMade(), w.getControlMapCacheHits(), w.getConsecutiveFailures(), w.getHealth(),
                w.getGpuMemoryUsedBytes(), w.getGpuMemoryTotalBytes(), w.getMetricsUrl(),
                w.getPool().isEmpty() ? Topics.DEFAULT_POOL : w.getPool(), new java.util.TreeMap<>(w.getModelLayoutsMap()),
                Math.max(1, w.getMaxBatch()), w.getMaxPixels());
    }
}
