package dev.cnfarm.common.storage;

/**
 * What the store knows of one object.
 *
 * @param sha256 lowercase hex, or empty when the object was written by someone other than
 *               {@link ObjectStore#put} (a presigned upload, say) and carries no such metadata
 */
public record ObjectInfo(String key, long sizeBytes, String sha256, String contentType) {}
