package dev.cnfarm.worker.render;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The runtime could not allocate the memory a render needed (ONNX Runtime's "Failed to allocate
 * memory", a CUDA out-of-memory, a C++ bad_alloc). An infrastructure fault, not the task's: a
 * smaller batch, or a worker with more memory, may render the same task; so the worker retries the
 * batch one task at a time, and the scheduler retries the task elsewhere without spending its attempts.
 * The message names the image size, the batch and, when the runtime said it, the buffer it wanted.
 */
public final class RenderOutOfMemoryException extends RuntimeException {
    /** What the runtimes say when an allocation fails; matched case-insensitively. */
    private static final Pattern ALLOCATION_FAILED = Pattern.compile(
            "failed to allocate memory|out of memory|bad_alloc|cudaErrorMemoryAllocation|CUBLAS_STATUS_ALLOC_FAILED|BFCArena",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern REQUESTED_BYTES = Pattern.compile("(?:buffer of size|size[: ]+)\\s*(\\d{4,})", Pattern.CASE_INSENSITIVE);

    private final long requestedBytes;

    private RenderOutOfMemoryException(String message, long requestedBytes, Throwable cause) {
        super(message, cause);
        this.requestedBytes = requestedBytes;
    }

    /** True when a runtime's error text says an allocation failed. */
    public static boolean isAllocationFailure(String runtimeMessage) {
        return runtimeMessage != null && ALLOCATION_FAILED.matcher(runtimeMessage).find();
    }

    /**
     * @param runtimeMessage the runtime's own text (kept at the end, for operators)
     * @param availableBytes the memory the worker has for renders, or 0 when unknown
     */
    public static RenderOutOfMemoryException of(String model, int width, int height, int batch, String runtimeMessage,
                                                long availableBytes, Throwable cause) {
        long requested = requestedBytes(runtimeMessage).orElse(0L);
        StringBuilder m = new StringBuilder("out of memory rendering ").append(width).append('x').append(height)
                .append(" on model ").append(model).append(batch > 1 ? " (a batch of " + batch + " images)" : "");
        if (requested > 0) {
            m.append(": a buffer of ").append(gib(requested)).append(" could not be allocated");
        }
        if (availableBytes > 0) {
            m.append("; this worker has ").append(gib(availableBytes)).append(" of memory");
        }
        m.append(". Render at a smaller size, or on a worker with more memory (runtime: ")
                .append(runtimeMessage == null ? "" : runtimeMessage.strip()).append(')');
        return new RenderOutOfMemoryException(m.toString(), requested, cause);
    }

    /** A task larger than the worker renders ({@code worker.max-pixels}), refused before it starts. */
    public static RenderOutOfMemoryException overLimit(String model, int width, int height, long maxPixels) {
        return new RenderOutOfMemoryException("out of memory: " + width + "x" + height + " (" + (long) width * height
                + " pixels) on model " + model + " is larger than this worker renders, at most " + maxPixels
                + " pixels an image (worker.max-pixels); a worker with more memory may take it", 0, null);
    }

    /** The allocation the runtime asked for and could not get, when its message says. */
    static Optional<Long> requestedBytes(String runtimeMessage) {
        if (runtimeMessage == null) {
            return Optional.empty();
        }
        Matcher m = REQUESTED_BYTES.matcher(runtimeMessage);
        return m.find() ? Optional.of(Long.parseLong(m.group(1))) : Optional.empty();
    }

    /** Bytes the failed allocation asked for; 0 when the runtime did not say. */
    public long requestedBytes() {
        return requestedBytes;
    }

    private static String gib(long bytes) {
        return bytes >= (1L << 30) ? String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.0f MiB", bytes / (double) (1L << 20));
    }
}
