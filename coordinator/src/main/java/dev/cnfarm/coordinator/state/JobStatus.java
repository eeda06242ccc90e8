package dev.cnfarm.coordinator.state;

import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.coordinator.jobs.JobExpander;
import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.JobState;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.TaskStateRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The view of one job: its record from the scheduler, each task's latest state from the
 * task-state topic, and the step progress of running tasks. The scheduler decides everything;
 * this only mirrors it, so every coordinator reading the same topics shows the same thing.
 */
final class JobStatus {
    private JobRecord record;
    private final TaskView[] tasks;
    private final int[] counts = new int[TaskPhase.values().length];
    // kept as tasks change, so a summary costs the same for 10 tasks or 100,000
    private double stepSum;
    private long firstStart;
    private long lastUpdated;

    JobStatus(JobRecord record) {
        this.record = record;
        this.tasks = new TaskView[record.getTaskCount()];
        for (int i = 0; i < tasks.length; i++) {
            tasks[i] = new TaskView();
        }
        counts[TaskPhase.QUEUED.ordinal()] = tasks.length;
    }

    private static final class TaskView {
        TaskPhase phase = TaskPhase.QUEUED;
        TaskStateRecord state = TaskStateRecord.getDefaultInstance();
        int step;
        int totalSteps;
        /** A training task's latest loss and learning rate (0 for render tasks). */
        double loss;
        double learningRate;
        double stepsPerSecond;
        /** A training task's latest sample grid: its score, the base model's, and its key (null before the first). */
        dev.cnfarm.proto.v1.TrainingSample sample;
        /** A training task's curve (null for render tasks). */
        TrainingHistory history;
    }

    synchronized JobRecord record() {
        return record;
    }

    synchronized void updateRecord(JobRecord newer) {
        this.record = newer;
    }

    /** A task's new state from the scheduler; null when it changed nothing (a repeat seen on replay). */
    synchronized JobUpdate apply(TaskStateRecord s) {
        int i = (int) s.getTaskIndex();
        if (i < 0 || i >= tasks.length) {
            return null;
        }
        TaskView t = tasks[i];
        if (s.equals(t.state)) {
            return null;
        }
        TaskPhase next = TaskPhase.of(s);
        stepSum -= contribution(t);
        counts[t.phase.ordinal()]--;
        counts[next.ordinal()]++;
        // progress seen while the task still showed as released belongs to the attempt that has now started
        boolean sameAttempt = s.getRelease() == t.state.getRelease()
                && (t.state.getDelivery() == 0 || s.getDelivery() == t.state.getDelivery());
        if (next != TaskPhase.RUNNING || !sameAttempt) {
            t.step = 0;
        }
        if (next.terminal()) {
            t.step = t.totalSteps = Math.max(t.totalSteps, 1);
        }
        t.phase = next;
        t.state = s;
        stepSum += contribution(t);
        if (s.getStartedAtMs() > 0 && (firstStart == 0 || s.getStartedAtMs() < firstStart)) {
            firstStart = s.getStartedAtMs();
        }
        lastUpdated = Math.max(lastUpdated, s.getUpdatedAtMs());
        return new JobUpdate("task", next.eventName(), summary(), snapshot(i));
    }

    /**
     * Step progress of the attempt that holds the task; other attempts' progress is ignored. Progress
     * comes straight from the worker while the task's start goes round through the scheduler, so
     * progress of the current release may arrive while the task still shows as released.
     */
    synchronized JobUpdate applyProgress(TaskEvent e) {
        int i = (int) e.getTaskIndex();
        if (i < 0 || i >= tasks.length) {
            return null;
        }
        TaskView t = tasks[i];
        boolean current = Math.max(1, e.getRelease()) == t.state.getRelease() && (t.phase == TaskPhase.RUNNING
                ? e.getAttempt() == t.state.getDelivery() : t.phase == TaskPhase.RELEASED && e.getAttempt() >= t.state.getDelivery());
        if (!current) {
            return null;
        }
        stepSum -= contribution(t);
        dev.cnfarm.proto.v1.TaskProgress p = e.getProgress();
        t.step = p.getStep();
        t.totalSteps = p.getTotalSteps();
        if (p.getLoss() > 0) {
            // a training step (a sample event carries no loss and keeps the last one)
            t.loss = p.getLoss();
            t.learningRate = p.getLearningRate();
            t.stepsPerSecond = p.getStepsPerSecond();
            history(t).loss(p.getStep(), p.getLoss());
        }
        if (p.hasSample()) {
            t.sample = p.getSample();
            history(t).sample(p.getStep(), p.getSample());
        }
        stepSum += contribution(t);
        String preview = e.getProgress().getPreviewPng().isEmpty() ? null
                : java.util.Base64.getEncoder().encodeToString(e.getProgress().getPreviewPng().toByteArray());
        return new JobUpdate("task", "progress", summary(), snapshot(i), preview);
    }

    private static TrainingHistory history(TaskView t) {
        if (t.history == null) {
            t.history = new TrainingHistory();
        }
        return t.history;
    }

    /** A training task's loss curve and sample scores, or null when the task is no training task (or has not reported). */
    synchronized java.util.Map<String, Object> trainingHistory(int index) {
        return index >= 0 && index < tasks.length && tasks[index].history != null ? tasks[index].history.toJson() : null;
    }

    /** What a task adds to the job's progress: 1 once ended, its step fraction while running. */
    private static double contribution(TaskView t) {
        if (t.phase.terminal()) {
            return 1;
        }
        if ((t.phase == TaskPhase.RUNNING || t.phase == TaskPhase.RELEASED) && t.totalSteps > 0) {
            return (double) t.step / t.totalSteps;
        }
        return 0;
    }

    private int count(TaskPhase p) {
        return counts[p.ordinal()];
    }

    synchronized boolean allDone() {
        return count(TaskPhase.SUCCEEDED) + count(TaskPhase.FAILED) + count(TaskPhase.CANCELLED) == tasks.length;
    }

    /** The record's state, except that a job whose tasks have all ended shows it before the scheduler's record arrives. */
    synchronized JobState state() {
        JobState s = record.getState();
        if (isTerminalState(s)) {
            return s;
        }
        if (allDone()) {
            return count(TaskPhase.FAILED) > 0 ? JobState.JOB_STATE_FAILED : JobState.JOB_STATE_SUCCEEDED;
        }
        if (s == JobState.JOB_STATE_SUBMITTED && count(TaskPhase.RUNNING) + count(TaskPhase.SUCCEEDED) + count(TaskPhase.FAILED) > 0) {
            return JobState.JOB_STATE_RUNNING;
        }
        return s;
    }

    synchronized JobSummary summary() {
        double steps = Math.max(0, Math.min(tasks.length, stepSum));
        long firstStart = record.getStartedAtMs();
        if (this.firstStart > 0 && (firstStart == 0 || this.firstStart < firstStart)) {
            firstStart = this.firstStart;
        }
        JobState state = state();
        int succeeded = count(TaskPhase.SUCCEEDED);
        int failed = count(TaskPhase.FAILED);
        int running = count(TaskPhase.RUNNING);
        int cancelled = count(TaskPhase.CANCELLED);
        int queued = tasks.length - succeeded - failed - running - cancelled;
        if (state == JobState.JOB_STATE_CANCELLED) {
            // tasks never released have no state of their own: the job's cancellation ended them
            cancelled += queued + running;
            queued = running = 0;
            steps = tasks.length;
        }
        // the step sum is kept by adding and removing fractions, which drifts in the last digits:
        // an ended job shows exactly 1, others are rounded to a millionth
        double progress = tasks.length == 0 || allDone() ? 1 : Math.min(1, Math.round(steps / tasks.length * 1e6) / 1e6);
        long finished = record.getFinishedAtMs();
        if (finished == 0 && allDone()) {
            finished = lastUpdate();
        }
        long end = finished > 0 ? finished : System.currentTimeMillis();
        double elapsedS = firstStart > 0 ? Math.max(0.001, (end - firstStart) / 1000.0) : 0;
        double rate = elapsedS > 0 ? succeeded / elapsedS : 0;
        long eta = -1;
        if (isTerminalState(state)) {
            eta = 0;
        } else if (progress > 0 && elapsedS > 0) {
            eta = Math.round(elapsedS * (1 - progress) / progress);
        }
        return new JobSummary(record.getJobId(), record.getSpec().getName(), record.getTenant(), stateName(state),
                record.getSpec().getPriority(), tasks.length, queued, running, succeeded, failed, cancelled, progress,
                record.getSubmittedAtMs(), firstStart, finished, rate, eta,
                record.getSpec().getPool().isEmpty() ? Topics.DEFAULT_POOL : record.getSpec().getPool(),
                !record.getSpec().getTrainControlnetJson().isEmpty() ? "train_controlnet"
                        : JobExpander.textToImage(record.getSpec()) ? "text_to_image" : "controlnet",
                record.getSpec().getModel());
    }

    private long lastUpdate() {
        return lastUpdated;
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

    /** The task at this index, or null when the job has no such task. */
    synchronized TaskSnapshot task(int index) {
        return index >= 0 && index < tasks.length ? snapshot(index) : null;
    }

    /** Render time of the task at this index once it has succeeded, else -1. */
    synchronized long renderMs(int index) {
        TaskView t = tasks[index];
        return t.phase == TaskPhase.SUCCEEDED ? t.state.getResult().getTimings().getRenderMs() : -1;
    }

    private TaskSnapshot snapshot(int i) {
        TaskView t = tasks[i];
        TaskStateRecord s = t.state;
        String error = s.getLastError().isEmpty() ? ""
                : s.getLastCause().name().replace("FAILURE_CAUSE_", "").toLowerCase(Locale.ROOT) + ": " + s.getLastError();
        if (t.phase == TaskPhase.SUCCEEDED) {
            error = "";
        }
        var out = s.getResult().getOutput();
        return new TaskSnapshot(i, JobExpander.taskId(record.getJobId(), i), t.phase.name().toLowerCase(Locale.ROOT),
                s.getRelease(), s.getWorkerId(), t.step, t.totalSteps, out.getKey(), out.getSha256(), out.getSizeBytes(),
                s.getResult().getTimings().getRenderMs(), error, t.loss, t.learningRate, t.stepsPerSecond,
                t.sample == null ? 0 : t.sample.getEdgeF1(), t.sample == null ? 0 : t.sample.getBaselineEdgeF1(),
                t.sample == null ? null : t.sample.getKey());
    }

    static boolean isTerminalState(JobState s) {
        return s == JobState.JOB_STATE_SUCCEEDED || s == JobState.JOB_STATE_FAILED || s == JobState.JOB_STATE_CANCELLED;
    }

    static String stateName(JobState s) {
        return s.name().replace("JOB_STATE_", "").toLowerCase(Locale.ROOT);
    }
}
