package dev.cnfarm.coordinator.scheduler;

import dev.cnfarm.common.config.SchedulerSettings;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.coordinator.jobs.JobExpander;
import dev.cnfarm.proto.v1.CancelJob;
import dev.cnfarm.proto.v1.FailureCause;
import dev.cnfarm.proto.v1.JobCommand;
import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.JobState;
import dev.cnfarm.proto.v1.RenderTask;
import dev.cnfarm.proto.v1.SchedulerJob;
import dev.cnfarm.proto.v1.SchemaVersion;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.TaskFailed;
import dev.cnfarm.proto.v1.TaskPhase;
import dev.cnfarm.proto.v1.TaskStateRecord;
import dev.cnfarm.proto.v1.WorkerControl;
import dev.cnfarm.proto.v1.WorkerState;
import dev.cnfarm.proto.v1.WorkerStatus;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The farm's scheduler: the one place where tasks are released, retried, fenced and ended. It
 * reacts to commands (submit, cancel, priority, suspend, resume), to the workers' task events and
 * heartbeats and to dead-lettered task records, and writes task releases, task states, job states
 * and worker control messages.
 *
 * <p>Release: at most a window of tasks (about two per task a live worker takes at once) is released and not yet ended,
 * so the queue stays short and a new urgent job is next in line within seconds. Each worker pool
 * (a job's {@code pool}, a worker's {@code worker.pool}) has its own tasks topic and its own
 * window, sized by the pool's live workers, so a pool without workers holds back only its own jobs. The next task comes
 * from the job with the highest priority, then from the tenant with the fewest tasks in flight, then
 * the job with the fewest in flight, then the oldest job.
 *
 * <p>Fencing: an attempt is named by the scheduler's release number and the share group's delivery
 * count. Events of an older attempt than the one the task state holds are dropped, and a task in a
 * terminal state never changes again: at most one result is recorded per task.
 *
 * <p>Retries: a failure on the task's content (bad control image) spends one of
 * {@code maxAttempts}, or ends the task at once when the worker says no retry can change it
 * (image bytes that do not decode); a failure on infrastructure (storage down, out of memory) does not, and is
 * retried with exponential backoff up to {@code maxInfraRetries} times.
 *
 * <p>Not thread-safe: Kafka Streams calls it from one thread. All state lives in the
 * {@link SchedulerStore}; the indexes kept here are rebuilt from it by {@link #recover()}.
 */
public final class Scheduler {
    private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);

    private final SchedulerSettings settings;
    private final SchedulerStore store;
    private final Consumer<SchedulerOutput> out;
    private final LongSupplier clock;

    /** Jobs not yet ended, by id, in submission order. */
    private final Map<String, SchedulerJob> active = new LinkedHashMap<>();
    /** Tasks waiting out their backoff, by due time. */
    private final TreeSet<Retry> retries = new TreeSet<>();
    /** Tasks whose backoff is over, per job, waiting for room in the window. */
    private final Map<String, ArrayDeque<String>> readyRetries = new HashMap<>();
    /** Live workers: their pool and when their last heartbeat arrived. */
    private final Map<String, Seen> workersSeenAt = new HashMap<>();
    private int inFlight;
    /** Released and not ended, per worker pool. */
    private final Map<String, Integer> inFlightByPool = new HashMap<>();

    /** @param slots the tasks it takes at once (its micro-batch; 1 for workers that do not say) */
    private record Seen(String pool, long atMs, int slots) {}

    private record Retry(long atMs, String taskId, String jobId) implements Comparable<Retry> {
        @Override
        public int compareTo(Retry o) {
            int c = Long.compare(atMs, o.atMs);
            return c != 0 ? c : taskId.compareTo(o.taskId);
        }
    }

    public Scheduler(SchedulerSettings settings, SchedulerStore store, Consumer<SchedulerOutput> out, LongSupplier clock) {
        this.settings = settings;
        this.store = store;
        this.out = out;
        this.clock = clock;
    }

    /** Rebuilds the in-memory indexes from the store (after a restart, or when this coordinator takes the scheduler over). */
    public void recover() {
        active.clear();
        retries.clear();
        readyRetries.clear();
        inFlight = 0;
        inFlightByPool.clear();
        store.forEachJob(j -> {
            if (!isTerminal(j.getRecord().getState())) {
                String id = j.getRecord().getJobId();
                JobSpec spec = store.spec(id).orElse(JobSpec.getDefaultInstance());
                SchedulerJob restored = j.toBuilder().setRecord(j.getRecord().toBuilder().setSpec(spec)).build();
                active.put(id, restored);
                addInFlight(restored, j.getInFlight());
            }
        });
        store.forEachTask(t -> {
            if (t.getPhase() == TaskPhase.TASK_PHASE_RETRY_WAIT && active.containsKey(t.getJobId())) {
                retries.add(new Retry(t.getRetryAtMs(), t.getTaskId(), t.getJobId()));
            }
        });
        LOG.info("scheduler recovered: {} active jobs, {} tasks in flight, {} waiting to retry", active.size(), inFlight, retries.size());
    }

    // ---------------------------------------------------------------- commands

    public void onCommand(JobCommand c) {
        switch (c.getKindCase()) {
            case SUBMIT -> submit(c.getSubmit());
            case CANCEL -> cancel(c.getJobId());
            case SET_PRIORITY -> updateRecord(c.getJobId(), r -> r.setSpec(r.getSpec().toBuilder().setPriority(c.getSetPriority().getPriority())));
            case SUSPEND -> updateRecordIf(c.getJobId(), s -> s == JobState.JOB_STATE_SUBMITTED || s == JobState.JOB_STATE_RUNNING,
                    r -> r.setState(JobState.JOB_STATE_SUSPENDED));
            case RESUME -> updateRecordIf(c.getJobId(), s -> s == JobState.JOB_STATE_SUSPENDED,
                    r -> r.setState(r.getStartedAtMs() > 0 ? JobState.JOB_STATE_RUNNING : JobState.JOB_STATE_SUBMITTED));
            default -> LOG.warn("command for job {} has no kind; ignored", c.getJobId());
        }
        release();
    }

    private void submit(JobRecord submitted) {
        String id = submitted.getJobId();
        if (store.job(id).isPresent()) {
            // the same job again: a retried submit, or the same idempotency key from another coordinator
            LOG.info("job {} submitted again; the first submission stands", id);
            return;
        }
        long now = clock.getAsLong();
        JobRecord record = submitted.toBuilder().setState(JobState.JOB_STATE_SUBMITTED).setUpdatedAtMs(now).build();
        SchedulerJob job = SchedulerJob.newBuilder().setRecord(record).build();
        store.putSpec(id, record.getSpec());
        putJob(job);
        out.accept(new SchedulerOutput.JobChanged(record));
        if (record.getTaskCount() == 0) {
            finishIfDone(job);
        }
    }

    private void cancel(String jobId) {
        SchedulerJob job = active.get(jobId);
        if (job == null) {
            return; // unknown or already ended: nothing to cancel
        }
        long now = clock.getAsLong();
        JobRecord r = job.getRecord();
        int cancelledTasks = 0;
        for (int i = 0; i < job.getNextIndex(); i++) {
            String taskId = JobExpander.taskId(jobId, i);
            TaskStateRecord t = store.task(taskId).orElse(null);
            if (t != null && !isTerminal(t.getPhase())) {
                putTask(t.toBuilder().setPhase(TaskPhase.TASK_PHASE_CANCELLED).setUpdatedAtMs(now).setRetryAtMs(0).build());
                cancelledTasks++;
            }
        }
        retries.removeIf(x -> x.jobId().equals(jobId));
        readyRetries.remove(jobId);
        int unreleased = r.getTaskCount() - job.getNextIndex();
        addInFlight(job, -job.getInFlight());
        job = job.toBuilder().setInFlight(0).setRetryWaiting(0).setRecord(r.toBuilder()
                .setCancelledCount(r.getCancelledCount() + cancelledTasks + unreleased)).build();
        out.accept(new SchedulerOutput.Control(WorkerControl.newBuilder().setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE)
                .setJobId(jobId).setAtMs(now).setCancel(CancelJob.getDefaultInstance()).build()));
        LOG.info("job {} cancelled: {} released tasks stopped, {} never released", jobId, cancelledTasks, unreleased);
        end(job, JobState.JOB_STATE_CANCELLED);
    }

    private void updateRecord(String jobId, Consumer<JobRecord.Builder> change) {
        updateRecordIf(jobId, s -> true, change);
    }

    private void updateRecordIf(String jobId, java.util.function.Predicate<JobState> when, Consumer<JobRecord.Builder> change) {
        SchedulerJob job = active.get(jobId);
        if (job == null || !when.test(job.getRecord().getState())) {
            return;
        }
        JobRecord.Builder b = job.getRecord().toBuilder();
        change.accept(b);
        JobRecord record = b.setUpdatedAtMs(clock.getAsLong()).build();
        putJob(job.toBuilder().setRecord(record).build());
        out.accept(new SchedulerOutput.JobChanged(record));
    }

    // ---------------------------------------------------------------- task events

    public void onEvent(TaskEvent e) {
        if (e.hasProgress()) {
            return; // progress is for the view, not for the scheduler
        }
        SchedulerJob job = active.get(e.getJobId());
        TaskStateRecord t = job == null ? null : store.task(e.getTaskId()).orElse(null);
        if (t == null || isTerminal(t.getPhase()) || t.getPhase() == TaskPhase.TASK_PHASE_RETRY_WAIT) {
            return; // ended, or this attempt's outcome is already recorded: a duplicate or a stale attempt
        }
        int release = Math.max(1, e.getRelease());
        if (release != t.getRelease() || e.getAttempt() < t.getDelivery()) {
            LOG.info("task {}: event of stale attempt {}.{} dropped (current {}.{})", t.getTaskId(), release, e.getAttempt(),
                    t.getRelease(), t.getDelivery());
            return;
        }
        long now = clock.getAsLong();
        TaskStateRecord.Builder b = t.toBuilder().setDelivery(e.getAttempt()).setWorkerId(e.getWorkerId()).setUpdatedAtMs(now);
        switch (e.getKindCase()) {
            case STARTED -> {
                putTask(b.setPhase(TaskPhase.TASK_PHASE_RUNNING).setStartedAtMs(e.getAtMs()).build());
                if (job.getRecord().getStartedAtMs() == 0) {
                    updateRecord(job.getRecord().getJobId(), r -> {
                        r.setStartedAtMs(e.getAtMs());
                        if (r.getState() == JobState.JOB_STATE_SUBMITTED) {
                            r.setState(JobState.JOB_STATE_RUNNING);
                        }
                    });
                }
            }
            case RESULT -> {
                putTask(b.setPhase(TaskPhase.TASK_PHASE_SUCCEEDED).setResult(e.getResult()).build());
                leaveWindow(job.getRecord().getJobId(), r -> r.setSucceededCount(r.getSucceededCount() + 1), 0);
            }
            case FAILED -> failed(job.getRecord().getJobId(), b, e.getFailed(), now);
            default -> {
                return;
            }
        }
        release();
    }

    private void failed(String jobId, TaskStateRecord.Builder t, TaskFailed f, long now) {
        t.setLastCause(f.getCause()).setLastError(f.getMessage());
        if (f.getCause() == FailureCause.FAILURE_CAUSE_CANCELLED) {
            putTask(t.setPhase(TaskPhase.TASK_PHASE_CANCELLED).build());
            leaveWindow(jobId, r -> r.setCancelledCount(r.getCancelledCount() + 1), 0);
            return;
        }
        // the worker says whether the fault was the infrastructure's (retryable) or the task's own
        boolean infrastructure = f.getRetryable();
        if (infrastructure) {
            int n = t.getInfraFailures() + 1;
            t.setInfraFailures(n);
            if (n > settings.maxInfraRetries()) {
                fail(jobId, t.setLastError(f.getMessage() + " (gave up after " + n + " infrastructure failures)"));
            } else {
                waitToRetry(jobId, t, now + settings.backoffMs(n));
            }
        } else {
            int n = t.getContentFailures() + 1;
            t.setContentFailures(n);
            if (f.getPermanent() || n >= settings.maxAttempts()) {
                // a permanent fault (bytes that do not decode) ends the task now: a retry reads the same input
                fail(jobId, t.setLastError(f.getMessage() + (n > 1 ? " (failed all " + n + " attempts)" : "")));
            } else {
                waitToRetry(jobId, t, now + settings.retryBackoffMs());
            }
        }
    }

    private void fail(String jobId, TaskStateRecord.Builder t) {
        putTask(t.setPhase(TaskPhase.TASK_PHASE_FAILED).setRetryAtMs(0).build());
        leaveWindow(jobId, r -> r.setFailedCount(r.getFailedCount() + 1), 0);
    }

    private void waitToRetry(String jobId, TaskStateRecord.Builder t, long at) {
        TaskStateRecord s = t.setPhase(TaskPhase.TASK_PHASE_RETRY_WAIT).setRetryAtMs(at).build();
        putTask(s);
        retries.add(new Retry(at, s.getTaskId(), jobId));
        leaveWindow(jobId, r -> { }, 1);
    }

    /** A released task ended or went to wait for a retry: it no longer counts against the window. */
    private void leaveWindow(String jobId, Consumer<JobRecord.Builder> count, int toRetryWait) {
        SchedulerJob job = active.get(jobId);
        JobRecord.Builder r = job.getRecord().toBuilder();
        count.accept(r);
        addInFlight(job, -1);
        job = job.toBuilder().setRecord(r).setInFlight(job.getInFlight() - 1).setRetryWaiting(job.getRetryWaiting() + toRetryWait).build();
        putJob(job);
        finishIfDone(job);
    }

    // ---------------------------------------------------------------- dead letters and heartbeats

    /** A task record the share group gave up on after its delivery limit: the attempt it names ends the task, failed. */
    public void onDeadLetter(RenderTask task) {
        SchedulerJob job = active.get(task.getJobId());
        TaskStateRecord t = job == null ? null : store.task(task.getTaskId()).orElse(null);
        if (t == null || isTerminal(t.getPhase()) || t.getPhase() == TaskPhase.TASK_PHASE_RETRY_WAIT
                || Math.max(1, task.getRelease()) != t.getRelease()) {
            return;
        }
        fail(task.getJobId(), t.toBuilder().setUpdatedAtMs(clock.getAsLong()).setLastCause(FailureCause.FAILURE_CAUSE_DELIVERY_LIMIT)
                .setLastError("given to workers " + Math.max(1, t.getDelivery()) + "+ times without an outcome (each worker stopped or "
                        + "vanished while holding it); moved to the dead-letter topic"));
        release();
    }

    public void onHeartbeat(WorkerStatus s) {
        if (s.getState() == WorkerState.WORKER_STATE_IDLE || s.getState() == WorkerState.WORKER_STATE_BUSY) {
            workersSeenAt.put(s.getWorkerId(), new Seen(poolName(s.getPool()), clock.getAsLong(), Math.max(1, s.getMaxBatch())));
        } else {
            workersSeenAt.remove(s.getWorkerId());
        }
        release();
    }

    /** Called every fraction of a second: retries whose backoff is over, workers that went quiet, and the window. */
    public void tick() {
        long now = clock.getAsLong();
        while (!retries.isEmpty() && retries.first().atMs() <= now) {
            Retry r = retries.pollFirst();
            readyRetries.computeIfAbsent(r.jobId(), k -> new ArrayDeque<>()).add(r.taskId());
        }
        long quiet = 3L * settings.workerHeartbeatMs();
        workersSeenAt.values().removeIf(seen -> now - seen.atMs() > quiet);
        release();
    }

    // ---------------------------------------------------------------- release

    /** The number of tasks of the default pool that may be released and not yet ended. */
    public int window() {
        return window(Topics.DEFAULT_POOL);
    }

    /** The number of tasks of a worker pool that may be released and not yet ended. */
    public int window(String pool) {
        return window(workersSeenAt.values().stream().filter(w -> w.pool().equals(pool)).mapToLong(Seen::slots).sum());
    }

    /** @param poolSlots the tasks the pool's live workers take at once, together (one each, or their micro-batches) */
    private int window(long poolSlots) {
        return (int) Math.max(settings.minWindow(), settings.windowPerWorker() * poolSlots);
    }

    public int inFlight(String pool) {
        return inFlightByPool.getOrDefault(pool, 0);
    }

    public long liveWorkers(String pool) {
        return workersSeenAt.values().stream().filter(w -> w.pool().equals(pool)).count();
    }

    public int inFlight() {
        return inFlight;
    }

    public int liveWorkers() {
        return workersSeenAt.size();
    }

    private void release() {
        if (active.isEmpty()) {
            return;
        }
        Map<String, Long> workers = new HashMap<>();
        workersSeenAt.values().forEach(w -> workers.merge(w.pool(), (long) w.slots(), Long::sum));
        while (true) {
            SchedulerJob next = ReleaseOrder.pick(active.values(), j -> hasWork(j) && hasRoom(poolOf(j), workers));
            if (next == null) {
                return;
            }
            releaseOne(next);
        }
    }

    private boolean hasRoom(String pool, Map<String, Long> workers) {
        return inFlight(pool) < window(workers.getOrDefault(pool, 0L));
    }

    private static String poolOf(SchedulerJob job) {
        return poolName(job.getRecord().getSpec().getPool());
    }

    /** Records and heartbeats from before pools name none: the default pool. */
    private static String poolName(String pool) {
        return pool.isEmpty() ? Topics.DEFAULT_POOL : pool;
    }

    private void addInFlight(SchedulerJob job, int delta) {
        inFlight += delta;
        inFlightByPool.merge(poolOf(job), delta, Integer::sum);
    }

    private boolean hasWork(SchedulerJob j) {
        ArrayDeque<String> ready = readyRetries.get(j.getRecord().getJobId());
        return (ready != null && !ready.isEmpty())
                || (j.getNextIndex() < j.getRecord().getTaskCount() && dependenciesEnded(j, j.getNextIndex()));
    }

    /**
     * Whether every task the task at {@code index} depends on has ended (a staged job's later
     * stage). Tasks are released in index order and dependencies point to lower indexes, so a task
     * waiting for its dependency holds back the job's later tasks too: simple, and what keeps a
     * dependent from ever being released before its dependency succeeded, across restarts included
     * (the check reads the stored task states).
     */
    private boolean dependenciesEnded(SchedulerJob j, int index) {
        for (int d : JobExpander.dependencies(j.getRecord().getSpec(), index)) {
            TaskStateRecord t = store.task(JobExpander.taskId(j.getRecord().getJobId(), d)).orElse(null);
            if (t == null || !isTerminal(t.getPhase())) {
                return false;
            }
        }
        return true;
    }

    /**
     * A dependent task's start: the outputs of the tasks it depends on as its inputs, or, when one
     * of them failed or was cancelled, the reason it cannot run (it ends the same way without
     * being released).
     */
    private sealed interface Inputs permits Inputs.Ready, Inputs.Blocked {
        record Ready(RenderTask task) implements Inputs {}

        record Blocked(TaskPhase phase, FailureCause cause, String reason) implements Inputs {}
    }

    private Inputs inputs(SchedulerJob job, RenderTask task) {
        RenderTask.Builder b = task.toBuilder();
        for (int k = 0; k < task.getDependsOnCount(); k++) {
            int d = task.getDependsOn(k);
            TaskStateRecord dep = store.task(JobExpander.taskId(job.getRecord().getJobId(), d)).orElseThrow();
            if (dep.getPhase() != TaskPhase.TASK_PHASE_SUCCEEDED) {
                boolean cancelled = dep.getPhase() == TaskPhase.TASK_PHASE_CANCELLED;
                return new Inputs.Blocked(cancelled ? TaskPhase.TASK_PHASE_CANCELLED : TaskPhase.TASK_PHASE_FAILED, dep.getLastCause(), "task " + d
                        + ", whose output this task refines, " + (cancelled ? "was cancelled" : "failed: " + dep.getLastError()));
            }
            if (task.getTilesCount() > 0) {
                b.setTiles(k, task.getTiles(k).toBuilder().setImage(dep.getResult().getOutput())); // a blend gathers its tiles
            } else {
                b.setInitImage(dep.getResult().getOutput()); // a hires pass or a tile starts from its base image
            }
        }
        return new Inputs.Ready(b.build());
    }

    private void releaseOne(SchedulerJob job) {
        long now = clock.getAsLong();
        JobRecord r = job.getRecord();
        ArrayDeque<String> ready = readyRetries.get(r.getJobId());
        SchedulerJob.Builder next = job.toBuilder().setInFlight(job.getInFlight() + 1);
        TaskStateRecord state;
        if (ready != null && !ready.isEmpty()) {
            TaskStateRecord t = store.task(ready.poll()).orElseThrow();
            state = t.toBuilder().setPhase(TaskPhase.TASK_PHASE_RELEASED).setRelease(t.getRelease() + 1).setDelivery(0)
                    .setWorkerId("").setRetryAtMs(0).setReleasedAtMs(now).setUpdatedAtMs(now).build();
            next.setRetryWaiting(job.getRetryWaiting() - 1);
        } else {
            int index = job.getNextIndex();
            state = TaskStateRecord.newBuilder().setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE)
                    .setJobId(r.getJobId()).setTaskId(JobExpander.taskId(r.getJobId(), index)).setTaskIndex(index)
                    .setTenant(r.getTenant()).setPhase(TaskPhase.TASK_PHASE_RELEASED).setRelease(1)
                    .setReleasedAtMs(now).setUpdatedAtMs(now).build();
            next.setNextIndex(index + 1).setRecord(r.toBuilder().setReleasedCount(index + 1));
        }
        RenderTask task = JobExpander.task(r.getJobId(), r.getTenant(), r.getSpec(), state.getTaskIndex(), now).toBuilder()
                .setRelease(state.getRelease()).build();
        Inputs inputs = inputs(job, task);
        if (inputs instanceof Inputs.Blocked blocked) {
            // never released: it ends as its dependency did, with the reason, and counts as such
            JobRecord.Builder counts = next.getRecord().toBuilder();
            if (blocked.phase() == TaskPhase.TASK_PHASE_CANCELLED) {
                counts.setCancelledCount(counts.getCancelledCount() + 1);
            } else {
                counts.setFailedCount(counts.getFailedCount() + 1);
            }
            SchedulerJob advanced = next.setInFlight(job.getInFlight()).setRecord(counts).build();
            putJob(advanced);
            putTask(state.toBuilder().setPhase(blocked.phase()).setLastCause(blocked.cause()).setLastError(blocked.reason()).build());
            finishIfDone(advanced);
            return;
        }
        task = ((Inputs.Ready) inputs).task();
        addInFlight(job, 1);
        putJob(next.build());
        putTask(state);
        out.accept(new SchedulerOutput.Release(task));
    }

    // ---------------------------------------------------------------- ending jobs

    private void finishIfDone(SchedulerJob job) {
        JobRecord r = job.getRecord();
        if (r.getSucceededCount() + r.getFailedCount() + r.getCancelledCount() < r.getTaskCount()) {
            return;
        }
        end(job, r.getFailedCount() > 0 ? JobState.JOB_STATE_FAILED : JobState.JOB_STATE_SUCCEEDED);
    }

    /** Records the job's end and forgets its tasks' state (the task-state topic keeps it for readers). */
    private void end(SchedulerJob job, JobState state) {
        long now = clock.getAsLong();
        String jobId = job.getRecord().getJobId();
        JobRecord record = job.getRecord().toBuilder().setState(state).setUpdatedAtMs(now).setFinishedAtMs(now).build();
        for (int i = 0; i < job.getNextIndex(); i++) {
            store.deleteTask(JobExpander.taskId(jobId, i));
        }
        store.putJob(job.toBuilder().setRecord(record.toBuilder().clearSpec()).build());
        store.deleteSpec(jobId);
        active.remove(jobId);
        readyRetries.remove(jobId);
        for (Iterator<Retry> it = retries.iterator(); it.hasNext(); ) {
            if (it.next().jobId().equals(jobId)) {
                it.remove();
            }
        }
        out.accept(new SchedulerOutput.JobChanged(record));
        LOG.info("job {} ended {}: {} succeeded, {} failed, {} cancelled", jobId, state, record.getSucceededCount(),
                record.getFailedCount(), record.getCancelledCount());
    }

    // ---------------------------------------------------------------- helpers

    private void putJob(SchedulerJob job) {
        store.putJob(job.toBuilder().setRecord(job.getRecord().toBuilder().clearSpec()).build());
        if (!isTerminal(job.getRecord().getState())) {
            active.put(job.getRecord().getJobId(), job);
        }
    }

    private void putTask(TaskStateRecord t) {
        store.putTask(t);
        out.accept(new SchedulerOutput.TaskChanged(t));
    }

    static boolean isTerminal(JobState s) {
        return s == JobState.JOB_STATE_SUCCEEDED || s == JobState.JOB_STATE_FAILED || s == JobState.JOB_STATE_CANCELLED;
    }

    static boolean isTerminal(TaskPhase p) {
        return p == TaskPhase.TASK_PHASE_SUCCEEDED || p == TaskPhase.TASK_PHASE_FAILED || p == TaskPhase.TASK_PHASE_CANCELLED;
    }
}
