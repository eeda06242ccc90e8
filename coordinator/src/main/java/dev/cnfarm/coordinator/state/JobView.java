package dev.cnfarm.coordinator.state;

import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.JobState;
import dev.cnfarm.proto.v1.TaskEvent;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The coordinator's in-memory read model of all jobs, rebuilt from the jobs and task-events topics
 * at start and kept current by {@link StateFeed}. Every coordinator that reads the same topics
 * computes the same view. Listeners hear every change (for websockets) and every job that has just
 * finished (so its final state is recorded on the jobs topic).
 */
public final class JobView {
    /** Events for a job not seen yet are held this long in count before being dropped. */
    private static final int MAX_PENDING_PER_JOB = 100_000;

    private final Map<String, JobStatus> jobs = new ConcurrentHashMap<>();
    private final Map<String, String> jobByIdempotencyKey = new ConcurrentHashMap<>();
    private final Map<String, List<TaskEvent>> pending = new ConcurrentHashMap<>();
    private final List<Consumer<JobUpdate>> updateListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final List<Consumer<JobRecord>> finishListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final RenderCostModel cost = new RenderCostModel();

    public void onUpdate(Consumer<JobUpdate> listener) {
        updateListeners.add(listener);
    }

    /** Told once per job, when its last task ends and its record does not yet say so. */
    public void onFinished(Consumer<JobRecord> listener) {
        finishListeners.add(listener);
    }

    /** A job record read from the jobs topic (new job, or a state change). */
    public void applyJob(JobRecord record) {
        JobStatus existing = jobs.get(record.getJobId());
        if (existing == null) {
            JobStatus status = new JobStatus(record);
            jobs.put(record.getJobId(), status);
            if (!record.getIdempotencyKey().isEmpty()) {
                jobByIdempotencyKey.put(idemKey(record.getTenant(), record.getIdempotencyKey()), record.getJobId());
            }
            List<TaskEvent> held = pending.remove(record.getJobId());
            if (held != null) {
                held.forEach(this::applyEvent);
            }
            notify(new JobUpdate("job", "submitted", status.summary(), null));
        } else {
            existing.updateRecord(record);
            notify(new JobUpdate("job", "state", existing.summary(), null));
        }
    }

    /** A task event (from the task-events or progress topic). */
    public void applyEvent(TaskEvent event) {
        JobStatus status = jobs.get(event.getJobId());
        if (status == null) {
            // the job's record may be in a partition not read yet; hold the event until it is
            List<TaskEvent> held = pending.computeIfAbsent(event.getJobId(), k -> new ArrayList<>());
            synchronized (held) {
                if (held.size() < MAX_PENDING_PER_JOB) {
                    held.add(event);
                }
            }
            return;
        }
        JobUpdate update = status.apply(event);
        if (update == null) {
            return;
        }
        if (event.hasResult()) {
            RenderCostModel.observe(cost, status.record(), event.getResult().getTimings().getRenderMs());
        }
        notify(update);
        JobRecord rec = status.record();
        if (status.allDone() && !JobStatus.isTerminalState(rec.getState())) {
            JobRecord finished = rec.toBuilder()
                    .setState(status.derivedState())
                    .setUpdatedAtMs(System.currentTimeMillis())
                    .setSucceededCount(update.job().succeeded())
                    .setFailedCount(update.job().failed())
                    .build();
            status.updateRecord(finished);
            notify(new JobUpdate("job", "state", status.summary(), null));
            finishListeners.forEach(l -> l.accept(finished));
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

    public List<TaskSnapshot> succeededTasks(String jobId) {
        JobStatus s = jobs.get(jobId);
        return s == null ? List.of() : s.succeededTasks();
    }

    /** Jobs of a tenant, newest first. */
    public List<JobSummary> list(String tenant) {
        return jobs.values().stream().map(JobStatus::summary).filter(s -> s.tenant().equals(tenant))
                .sorted(Comparator.comparingLong(JobSummary::submittedAtMs).reversed()).toList();
    }

    public Optional<String> jobForIdempotencyKey(String tenant, String key) {
        return Optional.ofNullable(jobByIdempotencyKey.get(idemKey(tenant, key)));
    }

    public int jobCount() {
        return jobs.size();
    }

    /** Estimated seconds of render time for a job of this shape, from results seen so far. */
    public double estimateSeconds(long tasks, int steps, int width, int height) {
        return cost.estimateSeconds(tasks, steps, width, height);
    }

    public boolean isActive(JobState s) {
        return !JobStatus.isTerminalState(s);
    }

    private static String idemKey(String tenant, String key) {
        return tenant + "\u0000" + key;
    }
}
