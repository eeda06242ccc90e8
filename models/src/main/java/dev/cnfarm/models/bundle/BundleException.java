package dev.cnfarm.models.bundle;

/** A model bundle is missing, incomplete or corrupt; the message names the file and the fix. */
public final class BundleException extends RuntimeException {
    public BundleException(String message) {
        super(message);
    }

    public BundleException(String message, Throwable cause) {
        super(message, cause);
    }
}
