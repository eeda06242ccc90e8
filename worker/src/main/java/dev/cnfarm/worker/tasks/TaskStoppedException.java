package dev.cnfarm.worker.tasks;

/**
 * Thrown from a step listener to stop a render between steps: because the task's job was
 * cancelled, or because the worker is shutting down and gives the task back.
 */
public final class TaskStoppedException extends RuntimeException {
    private final boolean cancelled;

    private TaskStoppedException(String message, boolean cancelled) {
        super(message, null, false, false);
        this.cancelled = cancelled;
    }

    public static TaskStoppedException cancelled(String jobId) {
        return new TaskStoppedException("job " + jobId + " was cancelled", true);
    }

    public static TaskStoppedException givenBack(String why) {
        return new TaskStoppedException(why, false);
    }

    /** True: the job was cancelled (the task ends). False: the worker gives the task back for another worker. */
    public boolean cancelled() {
        return cancelled;
    }
}
