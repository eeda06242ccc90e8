package dev.cnfarm.coordinator.jobs;

/** Kafka did not take a job or its state change; answered with HTTP 503 (try again). */
public final class JobNotStoredException extends RuntimeException {
    public JobNotStoredException(String message, Throwable cause) {
        super(message, cause);
    }
}
