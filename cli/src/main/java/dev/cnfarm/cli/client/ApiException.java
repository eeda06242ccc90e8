package dev.cnfarm.cli.client;

/** The coordinator answered with an error; the message is its explanation, field by field. */
public final class ApiException extends RuntimeException {
    private final int status;

    public ApiException(int status, String message) {
        super(message);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
