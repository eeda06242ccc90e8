package dev.cnfarm.coordinator.jobs;

/** An idempotency key was reused with a different request body; answered with HTTP 409. */
public final class IdempotencyConflictException extends RuntimeException {
    public IdempotencyConflictException(String message) {
        super(message);
    }
}
