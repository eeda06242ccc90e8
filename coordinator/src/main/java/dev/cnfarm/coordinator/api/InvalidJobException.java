package dev.cnfarm.coordinator.api;

import java.util.List;

/** A job request was refused; the errors say which fields and why. Answered with HTTP 400. */
public final class InvalidJobException extends RuntimeException {
    private final List<FieldError> errors;

    public InvalidJobException(List<FieldError> errors) {
        super(errors.isEmpty() ? "invalid job" : errors.get(0).field() + ": " + errors.get(0).message());
        this.errors = List.copyOf(errors);
    }

    public List<FieldError> errors() {
        return errors;
    }
}
