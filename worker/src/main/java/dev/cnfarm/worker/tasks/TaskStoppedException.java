package dev.cnfarm.worker.tasks;

/**
 * Thrown from a step listener to stop a render between steps: because the task's job was
 * cancelled, because the worker is shutting down and gives the task back, or because the worker
 * lost its lock on the task (the attempt is fenced: another worker may hold the task now).
 */
public final class TaskStoppedException extends RuntimeException {
    private final boolean cancelled;
    private final boolean fenced;

    private TaskStoppedException(String message, boolean cancelled, boolean fenced) {
        super(message, null, false, false);
        this.cancelled = cancelled;
        this.fenced = fenced;
    }

    public static TaskStoppedException cancelled(String jobId) {
        return new TaskStoppedException("job " + jobId + " was cancelled", true, false);
    }

    public static TaskStoppedException givenBack(String why) {
        return new TaskStoppedException(why, false, false);
    }

    /** The lock on the task is lost: whatever this attempt made would be fenced off, so it stops and stores nothing. */
    public static TaskStoppedException fenced(String why) {
        return new TaskStoppedException(why, false, true);
    }

    /** True: the attempt lost its lock and ends without an outcome or an object. */
    public boolean fenced() {
        return fenced;
    }

    /** True: the job was cancelled (the task ends). False: the worker gives the task back for another worker. */
    public boolean cancelled() {
        return cancelled;
    }
}
