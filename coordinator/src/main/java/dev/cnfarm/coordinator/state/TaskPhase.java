package dev.cnfarm.coordinator.state;

/** Where a task stands, as far as the coordinator has heard. */
public enum TaskPhase {
    /** released, waiting for a worker (or for another attempt after an infrastructure failure) */
    QUEUED,
    RUNNING,
    SUCCEEDED,
    FAILED;

    public boolean terminal() {
        return this == SUCCEEDED || this == FAILED;
    }
}
