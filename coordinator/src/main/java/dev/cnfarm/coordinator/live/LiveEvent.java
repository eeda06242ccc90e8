package dev.cnfarm.coordinator.live;

import dev.cnfarm.coordinator.state.JobUpdate;

/**
 * A job update with its place in this coordinator's event sequence.
 *
 * @param seq increasing number, unique within one coordinator run ({@link EventLog#epoch()})
 */
public record LiveEvent(long seq, JobUpdate update) {
    public String jobId() {
        return update.job().jobId();
    }

    /** The task the event is about, or null for job-level events. */
    public String taskId() {
        return update.task() == null ? null : update.task().taskId();
    }
}
