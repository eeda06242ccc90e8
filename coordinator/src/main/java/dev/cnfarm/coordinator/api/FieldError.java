package dev.cnfarm.coordinator.api;

/** One problem with a request, naming the field (JSON path, e.g. {@code control_images[2]}) and the fix. */
public record FieldError(String field, String message) {}
