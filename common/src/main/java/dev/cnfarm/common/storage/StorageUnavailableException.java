package dev.cnfarm.common.storage;

/** The store could not be reached or failed on its side: an infrastructure fault, worth retrying later. */
public final class StorageUnavailableException extends StorageException {
    public StorageUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
