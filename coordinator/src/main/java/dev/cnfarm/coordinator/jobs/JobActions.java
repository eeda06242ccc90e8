package dev.cnfarm.coordinator.jobs;

import dev.cnfarm.coordinator.state.JobSummary;
import dev.cnfarm.coordinator.state.JobView;
import java.util.Set;

/**
 * What a user can do to a job after submitting it: cancel, change its priority, suspend, resume.
 * Checks that the job exists for the tenant and that the action makes sense in its state, then
 * sends the command to the scheduler. Blocking; called off the event loop.
 */
public final class JobActions {
    /** Priorities run from -100 (background) to 100 (urgent); 0 is the default. */
    public static final int MIN_PRIORITY = -100;
    public static final int MAX_PRIORITY = 100;
    private static final Set<String> ENDED = Set.of("succeeded", "failed", "cancelled");

    private final CommandPublisher publisher;
    private final JobView view;

    public JobActions(CommandPublisher publisher, JobView view) {
        this.publisher = publisher;
        this.view = view;
    }

    public void cancel(String tenant, String jobId) {
        active(tenant, jobId, "cancelled");
        publisher.cancel(jobId, tenant);
    }

    public void setPriority(String tenant, String jobId, int priority) {
        if (priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
            throw new IllegalArgumentException("priority must be between " + MIN_PRIORITY + " and " + MAX_PRIORITY + ", got " + priority);
        }
        active(tenant, jobId, "reprioritised");
        publisher.setPriority(jobId, tenant, priority);
    }

    public void suspend(String tenant, String jobId) {
        JobSummary s = active(tenant, jobId, "suspended");
        if (s.state().equals("suspended")) {
            throw new JobStateException("job " + jobId + " is already suspended; resume it with `farm resume " + jobId + "`");
        }
        publisher.suspend(jobId, tenant);
    }

    public void resume(String tenant, String jobId) {
        JobSummary s = active(tenant, jobId, "resumed");
        if (!s.state().equals("suspended")) {
            throw new JobStateException("job " + jobId + " is not suspended (it is " + s.state() + ")");
        }
        publisher.resume(jobId, tenant);
    }

    private JobSummary active(String tenant, String jobId, String verb) {
        JobSummary s = view.summary(jobId).filter(j -> j.tenant().equals(tenant))
                .orElseThrow(() -> new JobNotFoundException("job '" + jobId + "' not found"));
        if (ENDED.contains(s.state())) {
            throw new JobStateException("job " + jobId + " has already ended (" + s.state() + ") and cannot be " + verb);
        }
        return s;
    }

    /** The job does not exist, or belongs to another tenant. */
    public static final class JobNotFoundException extends RuntimeException {
        public JobNotFoundException(String message) {
            super(message);
        }
    }

    /** The action does not fit the job's state. */
    public static final class JobStateException extends RuntimeException {
        public JobStateException(String message) {
            super(message);
        }
    }
}
