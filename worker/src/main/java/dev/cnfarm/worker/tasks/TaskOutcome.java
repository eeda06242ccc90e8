package dev.cnfarm.worker.tasks;

import dev.cnfarm.proto.v1.FailureCause;
import dev.cnfarm.proto.v1.TaskResult;

/** How one attempt at a task ended. */
public sealed interface TaskOutcome {

    /** The image is in S3; the result names it. */
    record Succeeded(TaskResult result) implements TaskOutcome {}

    /**
     * The attempt failed.
     *
     * @param retryable true for infrastructure faults (storage down, out of memory), which another
     *                  attempt may get past; false for content faults, which it would not
     */
    /**
     * @param retryable an infrastructure fault: tried again without spending the task's attempts
     * @param permanent a fault of the input that no retry can change: the task fails at once
     */
    record Failed(FailureCause cause, String message, boolean retryable, boolean permanent) implements TaskOutcome {
        public Failed(FailureCause cause, String message, boolean retryable) {
            this(cause, message, retryable, false);
        }
    }

    /** The worker stopped the attempt to shut down: the task goes back to the queue, no outcome is recorded. */
    record GivenBack(String reason) implements TaskOutcome {}

    /**
     * The worker lost its lock on the task mid-attempt (its lock renewal was refused, as after a
     * pause longer than the lock): another worker may already hold the task, so this attempt
     * stopped, stored nothing and records nothing.
     */
    record Fenced(String reason) implements TaskOutcome {}
}
