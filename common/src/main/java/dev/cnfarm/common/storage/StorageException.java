package dev.cnfarm.common.storage;

/** An object store operation failed. */
public class StorageException extends RuntimeException {
    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
