package dev.cnfarm.models.interop;

/** A model folder that cannot be used as it is: the message names the file and, where it applies, the tensor. */
public final class LayoutException extends RuntimeException {
    public LayoutException(String message) {
        super(message);
    }

    public LayoutException(String message, Throwable cause) {
        super(message, cause);
    }
}
