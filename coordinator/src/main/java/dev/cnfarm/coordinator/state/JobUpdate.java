package dev.cnfarm.coordinator.state;

/**
 * One change to a job, as pushed to websocket subscribers.
 *
 * @param type  {@code task} (a task started, progressed, finished or failed) or {@code job} (job state changed)
 * @param event for {@code task}: started, progress, result or failed
 * @param task  the task after the change, or null for job-level updates
 * @param previewPng for some progress updates: a small PNG of the image being made, base64
 */
public record JobUpdate(String type, String event, JobSummary job, TaskSnapshot task, String previewPng) {

    /** An update without a preview image. */
    public JobUpdate(String type, String event, JobSummary job, TaskSnapshot task) {
        this(type, event, job, task, null);
    }

    /** Progress updates may be dropped for a slow client; the others must not be. */
    public boolean droppable() {
        return "progress".equals(event);
    }
}
