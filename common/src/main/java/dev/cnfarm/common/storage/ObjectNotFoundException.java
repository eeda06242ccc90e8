package dev.cnfarm.common.storage;

/** The object (or its bucket) does not exist. */
public final class ObjectNotFoundException extends StorageException {
    public ObjectNotFoundException(String key) {
        super("object '" + key + "' does not exist", null);
    }
}
