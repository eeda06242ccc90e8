package dev.cnfarm.common.storage;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The farm's view of its S3 bucket. One implementation talks to any S3 server through the MinIO
 * client ({@link MinioObjectStore}); the seam exists so that callers do not depend on a client
 * library and so that storage faults can be staged in tests.
 *
 * <p>Failures: a missing object is {@link ObjectNotFoundException}; a server that cannot be
 * reached or answers 5xx is {@link StorageUnavailableException} (an infrastructure fault, worth a
 * retry); anything else is a plain {@link StorageException}.
 */
public interface ObjectStore extends AutoCloseable {

    /** Creates the bucket if it does not exist yet. */
    void ensureBucket();

    /** Stores the bytes and records their sha256 as object metadata. */
    ObjectInfo put(String key, byte[] data, String contentType);

    byte[] get(String key);

    /** Size, content type and (when stored by {@link #put}) sha256; empty when the object does not exist. */
    Optional<ObjectInfo> stat(String key);

    /** Objects under a prefix, recursively, in key order. */
    List<ObjectInfo> list(String prefix);

    void delete(String key);

    /** A URL anyone holding it can GET the object with, until it expires. */
    URI presignedGet(String key, Duration ttl);

    /** A URL anyone holding it can PUT the object with, until it expires. */
    URI presignedPut(String key, Duration ttl);

    @Override
    void close();
}
