package dev.cnfarm.coordinator.state;

/**
 * One change to a job, as pushed to websocket subscribers.
 *
 * @param type  {@code task} (a task started, progressed, finished or failed) or {@code job} (job state changed)
 * @param event for {@code task}: started, progress, result or failed
 * @param task  the task after the change, or null for job-level updates
 */
public record JobUpdate(String type, String event, JobSummary job, TaskSnapshot task) {

    /** Progress updates may be dropped for a slow client; the others must not be. */
    public boolean droppable() {
        return "progress".equals(event);
    }
}
