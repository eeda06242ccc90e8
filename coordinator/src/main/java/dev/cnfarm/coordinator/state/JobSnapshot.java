package dev.cnfarm.coordinator.state;

import java.util.List;

/** A job with all its tasks: the body of {@code GET /api/v1/jobs/{id}} and the first websocket frame. */
public record JobSnapshot(JobSummary job, List<TaskSnapshot> tasks) {}
