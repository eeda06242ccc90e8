package dev.cnfarm.worker.render;

/**
 * The task's content cannot be rendered (an undecodable control image, a digest that does not
 * match): a content failure, which retrying on another worker would not fix.
 */
public final class BadInputException extends RuntimeException {
    private final boolean permanent;

    public BadInputException(String message) {
        this(message, null, false);
    }

    public BadInputException(String message, Throwable cause) {
        this(message, cause, false);
    }

    private BadInputException(String message, Throwable cause, boolean permanent) {
        super(message, cause);
        this.permanent = permanent;
    }

    /**
     * A fault of the input itself that no retry can change, on this worker or another: image bytes
     * that do not decode (inputs are content-addressed, so a retry reads the same bytes).
     */
    public static BadInputException permanent(String message, Throwable cause) {
        return new BadInputException(message, cause, true);
    }

    public static BadInputException permanent(String message) {
        return new BadInputException(message, null, true);
    }

    /** Whether retrying cannot help (see {@link #permanent(String, Throwable)}). */
    public boolean isPermanent() {
        return permanent;
    }
}
