package dev.cnfarm.coordinator.state;

import dev.cnfarm.proto.v1.TaskStateRecord;

/** Where a task stands, as the API shows it. */
public enum TaskPhase {
    /** not released yet: the scheduler holds it back until there is room in the queue */
    QUEUED,
    /** in the workers' queue, not started */
    RELEASED,
    RUNNING,
    /** an attempt failed; it is released again after a backoff */
    RETRYING,
    SUCCEEDED,
    FAILED,
    CANCELLED;

    public boolean terminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }

    static TaskPhase of(TaskStateRecord r) {
        return switch (r.getPhase()) {
            case TASK_PHASE_RELEASED -> RELEASED;
            case TASK_PHASE_RUNNING -> RUNNING;
            case TASK_PHASE_RETRY_WAIT -> RETRYING;
            case TASK_PHASE_SUCCEEDED -> SUCCEEDED;
            case TASK_PHASE_FAILED -> FAILED;
            case TASK_PHASE_CANCELLED -> CANCELLED;
            default -> QUEUED;
        };
    }

    /** The websocket event name of a change into this phase. */
    String eventName() {
        return switch (this) {
            case QUEUED, RELEASED -> "released";
            case RUNNING -> "started";
            case RETRYING -> "retrying";
            case SUCCEEDED -> "result";
            case FAILED -> "failed";
            case CANCELLED -> "cancelled";
        };
    }
}
