package dev.cnfarm.models.bundle;

/** One file of a bundle, with its digest so a cached or copied bundle can be checked. */
public record BundleFile(String path, String sha256, long sizeBytes) {}
