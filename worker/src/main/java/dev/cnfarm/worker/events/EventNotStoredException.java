package dev.cnfarm.worker.events;

/** Kafka did not confirm an event; the task must not be acknowledged. */
public final class EventNotStoredException extends RuntimeException {
    public EventNotStoredException(String message, Throwable cause) {
        super(message, cause);
    }
}
