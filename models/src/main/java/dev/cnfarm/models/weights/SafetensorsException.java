package dev.cnfarm.models.weights;

/** A safetensors file is malformed, or its tensors do not fit the model; the message names the tensor. */
public final class SafetensorsException extends RuntimeException {
    public SafetensorsException(String message) {
        super(message);
    }

    public SafetensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
