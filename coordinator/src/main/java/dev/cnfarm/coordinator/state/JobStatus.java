package dev.cnfarm.coordinator.state;

import dev.cnfarm.coordinator.jobs.JobExpander;
import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.JobState;
import dev.cnfarm.proto.v1.TaskEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The coordinator's view of one job, folded from its task events. Duplicate and late events are
 * harmless: a task in a terminal state stays there (at most one result is recorded per task), and
 * events of an attempt older than the newest one seen do not move a running task backwards.
 */
final class JobStatus {
    private JobRecord record;
    private final TaskState[] tasks;
    private int succeeded;
    private int failed;
    private int running;
    private long startedAtMs;
    private long finishedAtMs;

    JobStatus(JobRecord record) {
        this.record = record;
        this.tasks = new TaskState[record.getTaskCount()];
        for (int i = 0; i < tasks.length; i++) {
            tasks[i] = new TaskState();
        }
    }

    private static final class TaskState {
        TaskPhase phase = TaskPhase.QUEUED;
        int attempt;
        String worker = "";
        int step;
        int totalSteps;
        String outputKey = "";
        String outputSha256 = "";
        long outputSize;
        long renderMs;
        String error = "";
    }

    synchronized JobRecord record() {
        return record;
    }

    /** A newer job record (state change, or the same job read again on replay). */
    synchronized void updateRecord(JobRecord newer) {
        this.record = newer;
        if (isTerminalState(newer.getState()) && finishedAtMs == 0) {
            finishedAtMs = newer.getUpdatedAtMs();
        }
    }

    /**
     * Applies a task event.
     *
     * @return the resulting update, or null when the event changed nothing (duplicate, stale, unknown task)
     */
    synchronized JobUpdate apply(TaskEvent e) {
        int i = (int) e.getTaskIndex();
        if (i < 0 || i >= tasks.length) {
            return null;
        }
        TaskState t = tasks[i];
        if (t.phase.terminal() || e.getAttempt() < t.attempt) {
            return null;
        }
        String event;
        switch (e.getKindCase()) {
            case STARTED -> {
                setPhase(t, TaskPhase.RUNNING);
                t.attempt = e.getAttempt();
                t.worker = e.getWorkerId();
                t.step = 0;
                if (startedAtMs == 0) {
                    startedAtMs = e.getAtMs();
                }
                event = "started";
            }
            case PROGRESS -> {
                if (t.phase != TaskPhase.RUNNING || e.getAttempt() != t.attempt) {
                    return null;
                }
                t.step = e.getProgress().getStep();
                t.totalSteps = e.getProgress().getTotalSteps();
                event = "progress";
            }
            case RESULT -> {
                setPhase(t, TaskPhase.SUCCEEDED);
                t.attempt = e.getAttempt();
                t.worker = e.getWorkerId();
                t.step = t.totalSteps = Math.max(t.totalSteps, 1);
                t.outputKey = e.getResult().getOutput().getKey();
                t.outputSha256 = e.getResult().getOutput().getSha256();
                t.outputSize = e.getResult().getOutput().getSizeBytes();
                t.renderMs = e.getResult().getTimings().getRenderMs();
                t.error = "";
                event = "result";
            }
            case FAILED -> {
                t.attempt = e.getAttempt();
                t.worker = e.getWorkerId();
                t.error = e.getFailed().getCause().name().replace("FAILURE_CAUSE_", "").toLowerCase(Locale.ROOT)
                        + ": " + e.getFailed().getMessage();
                // a retryable failure puts the task back in the queue; a final one ends it
                setPhase(t, e.getFailed().getRetryable() ? TaskPhase.QUEUED : TaskPhase.FAILED);
                event = "failed";
            }
            default -> {
                return null;
            }
        }
        if (allDone() && finishedAtMs == 0) {
            finishedAtMs = e.getAtMs();
        }
        String preview = e.hasProgress() && !e.getProgress().getPreviewPng().isEmpty()
                ? java.util.Base64.getEncoder().encodeToString(e.getProgress().getPreviewPng().toByteArray()) : null;
        return new JobUpdate("task", event, summary(), snapshot(i), preview);
    }

    private void setPhase(TaskState t, TaskPhase next) {
        if (t.phase == TaskPhase.RUNNING) {
            running--;
        }
        if (next == TaskPhase.RUNNING) {
            running++;
        } else if (next == TaskPhase.SUCCEEDED) {
            succeeded++;
        } else if (next == TaskPhase.FAILED) {
            failed++;
        }
        t.phase = next;
    }

    synchronized boolean allDone() {
        return succeeded + failed == tasks.length;
    }

    /** The job state implied by the tasks (the record's own state wins once it is terminal). */
    synchronized JobState derivedState() {
        if (isTerminalState(record.getState())) {
            return record.getState();
        }
        if (allDone()) {
            return failed > 0 ? JobState.JOB_STATE_FAILED : JobState.JOB_STATE_SUCCEEDED;
        }
        return startedAtMs > 0 ? JobState.JOB_STATE_RUNNING : JobState.JOB_STATE_SUBMITTED;
    }

    synchronized JobSummary summary() {
        double steps = 0;
        for (TaskState t : tasks) {
            if (t.phase.terminal()) {
                steps += 1;
            } else if (t.phase == TaskPhase.RUNNING && t.totalSteps > 0) {
                steps += (double) t.step / t.totalSteps;
            }
        }
        double progress = tasks.length == 0 ? 1 : steps / tasks.length;
        long end = finishedAtMs > 0 ? finishedAtMs : System.currentTimeMillis();
        double elapsedS = startedAtMs > 0 ? Math.max(0.001, (end - startedAtMs) / 1000.0) : 0;
        double rate = elapsedS > 0 ? succeeded / elapsedS : 0;
        long eta = -1;
        if (allDone()) {
            eta = 0;
        } else if (progress > 0 && elapsedS > 0) {
            eta = Math.round(elapsedS * (1 - progress) / progress);
        }
        int queued = tasks.length - succeeded - failed - running;
        return new JobSummary(record.getJobId(), record.getSpec().getName(), record.getTenant(), stateName(derivedState()),
                tasks.length, queued, running, succeeded, failed, progress, record.getSubmittedAtMs(), startedAtMs,
                finishedAtMs, rate, eta);
    }

    synchronized JobSnapshot snapshot() {
        List<TaskSnapshot> list = new ArrayList<>(tasks.length);
        for (int i = 0; i < tasks.length; i++) {
            list.add(snapshot(i));
        }
        return new JobSnapshot(summary(), list);
    }

    synchronized List<TaskSnapshot> succeededTasks() {
        List<TaskSnapshot> out = new ArrayList<>();
        for (int i = 0; i < tasks.length; i++) {
            if (tasks[i].phase == TaskPhase.SUCCEEDED) {
                out.add(snapshot(i));
            }
        }
        return out;
    }

    private TaskSnapshot snapshot(int i) {
        TaskState t = tasks[i];
        return new TaskSnapshot(i, JobExpander.taskId(record.getJobId(), i), t.phase.name().toLowerCase(Locale.ROOT),
                t.attempt, t.worker, t.step, t.totalSteps, t.outputKey, t.outputSha256, t.outputSize, t.renderMs, t.error);
    }

    static boolean isTerminalState(JobState s) {
        return s == JobState.JOB_STATE_SUCCEEDED || s == JobState.JOB_STATE_FAILED || s == JobState.JOB_STATE_CANCELLED;
    }

    static String stateName(JobState s) {
        return s.name().replace("JOB_STATE_", "").toLowerCase(Locale.ROOT);
    }
}
