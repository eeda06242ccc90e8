package dev.cnfarm.worker.render;

/**
 * The task's content cannot be rendered (an undecodable control image, a digest that does not
 * match): a content failure, which retrying on another worker would not fix.
 */
public final class BadInputException extends RuntimeException {
    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
