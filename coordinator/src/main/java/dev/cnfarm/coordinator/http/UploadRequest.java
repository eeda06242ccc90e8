package dev.cnfarm.coordinator.http;

/** Body of {@code POST /api/v1/uploads}: the content address and size of a file the client will upload. */
public record UploadRequest(String sha256, Long sizeBytes) {}
