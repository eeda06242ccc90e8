package dev.cnfarm.coordinator.state;

import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.JobState;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.TaskStateRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The coordinator's in-memory read model of all jobs: job records and task states as the scheduler
 * wrote them (rebuilt from the compacted jobs and task-state topics at start and kept current by
 * {@link StateFeed}), plus the live step progress of running tasks. Every coordinator that reads the
 * same topics computes the same view. Listeners hear every change (for websockets).
 */
public final class JobView {
    /** Task states for a job not seen yet are held, up to this many, until its record arrives. */
    private static final int MAX_PENDING_PER_JOB = 100_000;

    private final Map<String, JobStatus> jobs = new ConcurrentHashMap<>();
    private final Map<String, String> jobByIdempotencyKey = new ConcurrentHashMap<>();
    private final Map<String, List<TaskStateRecord>> pending = new ConcurrentHashMap<>();
    private final List<Consumer<JobUpdate>> updateListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final RenderCostModel cost = new RenderCostModel();
    /** A worker's device, for learning render costs per device ("unknown" until a heartbeat says). */
    private volatile java.util.function.Function<String, String> workerDevice = w -> RenderCostModel.UNKNOWN_DEVICE;

    private final List<Consumer<TaskStateRecord>> taskStateListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final List<Consumer<TaskEvent>> resultListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    public void onUpdate(Consumer<JobUpdate> listener) {
        updateListeners.add(listener);
    }

    /** Hears each task state that changed something, as the scheduler wrote it (for metrics). */
    public void onTaskState(Consumer<TaskStateRecord> listener) {
        taskStateListeners.add(listener);
    }

    /** Hears each result event a worker sends, of current and stale attempts alike (to remove stale attempts' objects). */
    public void onResultEvent(Consumer<TaskEvent> listener) {
        resultListeners.add(listener);
    }

    /** A worker's task event: step progress updates the view, results go to the result listeners. */
    public void applyTaskEvent(TaskEvent event) {
        if (event.hasResult()) {
            resultListeners.forEach(l -> l.accept(event));
        } else if (event.hasProgress()) {
            applyProgress(event);
        }
    }

    /** Every job's summary, all tenants (for metrics). */
    public List<JobSummary> allSummaries() {
        return jobs.values().stream().map(JobStatus::summary).toList();
    }

    /** A job record: a new job (submitted here, or read from the jobs topic), or a state change from the scheduler. */
    public void applyJob(JobRecord record) {
        JobStatus existing = jobs.get(record.getJobId());
        if (existing == null) {
            JobStatus status = new JobStatus(record);
            if (jobs.putIfAbsent(record.getJobId(), status) != null) {
                applyJob(record);
                return;
            }
            if (!record.getIdempotencyKey().isEmpty()) {
                jobByIdempotencyKey.put(idemKey(record.getTenant(), record.getIdempotencyKey()), record.getJobId());
            }
            List<TaskStateRecord> held = pending.remove(record.getJobId());
            if (held != null) {
                held.forEach(this::applyTaskState);
            }
            notify(new JobUpdate("job", "submitted", status.summary(), null));
        } else {
            existing.updateRecord(record);
            notify(new JobUpdate("job", "state", existing.summary(), null));
        }
    }

    /** A task's state from the scheduler (the task-state topic). */
    public void applyTaskState(TaskStateRecord state) {
        JobStatus status = jobs.get(state.getJobId());
        if (status == null) {
            // the job's record may be in a partition not read yet; hold the state until it is
            List<TaskStateRecord> held = pending.computeIfAbsent(state.getJobId(), k -> new ArrayList<>());
            synchronized (held) {
                if (held.size() < MAX_PENDING_PER_JOB) {
                    held.add(state);
                }
            }
            return;
        }
        boolean wasDone = status.allDone();
        JobUpdate update = status.apply(state);
        if (update == null) {
            return;
        }
        if (state.getPhase() == dev.cnfarm.proto.v1.TaskPhase.TASK_PHASE_SUCCEEDED) {
            RenderCostModel.observe(cost, status.record(), workerDevice.apply(state.getWorkerId()),
                    state.getResult().getTimings().getRenderMs());
        }
        notify(update);
        taskStateListeners.forEach(l -> l.accept(state));
        if (!wasDone && status.allDone()) {
            notify(new JobUpdate("job", "state", status.summary(), null));
        }
    }

    /** Step progress from a worker (the progress topic); only the attempt that holds the task counts. */
    public void applyProgress(TaskEvent event) {
        JobStatus status = jobs.get(event.getJobId());
        if (status == null || !event.hasProgress()) {
            return;
        }
        JobUpdate update = status.applyProgress(event);
        if (update != null) {
            notify(update);
        }
    }

    private void notify(JobUpdate update) {
        for (Consumer<JobUpdate> l : updateListeners) {
            l.accept(update);
        }
    }

    public Optional<JobSnapshot> snapshot(String jobId) {
        return Optional.ofNullable(jobs.get(jobId)).map(JobStatus::snapshot);
    }

    public Optional<JobSummary> summary(String jobId) {
        return Optional.ofNullable(jobs.get(jobId)).map(JobStatus::summary);
    }

    public Optional<JobRecord> record(String jobId) {
        return Optional.ofNullable(jobs.get(jobId)).map(JobStatus::record);
    }

    public Optional<TaskSnapshot> task(String jobId, int index) {
        JobStatus s = jobs.get(jobId);
        return s == null ? Optional.empty() : Optional.ofNullable(s.task(index));
    }

    /** A training task's loss curve and sample scores as this coordinator has seen them; empty for other tasks. */
    public Optional<java.util.Map<String, Object>> trainingHistory(String jobId, int index) {
        JobStatus s = jobs.get(jobId);
        return s == null ? Optional.empty() : Optional.ofNullable(s.trainingHistory(index));
    }

    public List<TaskSnapshot> succeededTasks(String jobId) {
        JobStatus s = jobs.get(jobId);
        return s == null ? List.of() : s.succeededTasks();
    }

    /** Jobs of a tenant, newest first. */
    public List<JobSummary> list(String tenant) {
        return jobs.values().stream().map(JobStatus::summary).filter(s -> s.tenant().equals(tenant))
                .sorted(Comparator.comparingLong(JobSummary::submittedAtMs).reversed()).toList();
    }

    /** Every tenant's jobs, newest first (an admin's listing). */
    public List<JobSummary> allSummariesNewestFirst() {
        return jobs.values().stream().map(JobStatus::summary)
                .sorted(Comparator.comparingLong(JobSummary::submittedAtMs).reversed()).toList();
    }

    /** Jobs of a tenant that have not ended (submitted, running or suspended). */
    public long activeJobCount(String tenant) {
        return jobs.values().stream().map(JobStatus::summary)
                .filter(s -> s.tenant().equals(tenant) && !TERMINAL_STATES.contains(s.state())).count();
    }

    private static final java.util.Set<String> TERMINAL_STATES = java.util.Set.of("succeeded", "failed", "cancelled");

    public Optional<String> jobForIdempotencyKey(String tenant, String key) {
        return Optional.ofNullable(jobByIdempotencyKey.get(idemKey(tenant, key)));
    }

    public int jobCount() {
        return jobs.size();
    }

    /** Estimated seconds of render time for a job of this shape, from results seen so far. */
    public double estimateSeconds(String model, long tasks, int steps, int width, int height) {
        return cost.estimateSeconds(model, tasks, steps, width, height);
    }

    /** The render time on one worker of each device that has rendered the model, for the quote. */
    public Map<String, Double> estimateSecondsByDevice(String model, long tasks, int steps, int width, int height) {
        return cost.estimateSecondsByDevice(model, tasks, steps, width, height);
    }

    /** Says what device a worker renders on (from its heartbeats), so costs are learned per device. */
    public void describeWorkersWith(java.util.function.Function<String, String> device) {
        this.workerDevice = device;
    }

    public boolean isActive(JobState s) {
        return !JobStatus.isTerminalState(s);
    }

    private static String idemKey(String tenant, String key) {
        return tenant + "\u0000" + key;
    }
}
