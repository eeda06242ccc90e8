package dev.cnfarm.worker.metrics;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Memory of the worker's GPU, read with {@code nvidia-smi} (which the NVIDIA container runtime
 * mounts into every GPU container): ONNX Runtime's Java API does not report device memory. Read
 * at most every few seconds, since each read starts a process; empty on the CPU provider or when
 * the tool is missing or fails, so a scrape never fails for it.
 */
public final class GpuMemory {
    private static final Logger LOG = LoggerFactory.getLogger(GpuMemory.class);
    private static final long CACHE_MS = 5_000;

    /** Device memory in bytes. */
    public record Reading(long totalBytes, long usedBytes) {}

    private final List<String> command;
    private Optional<Reading> last = Optional.empty();
    private long readAtMs = Long.MIN_VALUE / 2;
    private boolean warned;

    private GpuMemory(List<String> command) {
        this.command = command;
    }

    /** The GPU of the CUDA provider, or nothing on any other provider. */
    public static GpuMemory forProvider(String executionProvider, int cudaDevice) {
        if (!executionProvider.equalsIgnoreCase("cuda")) {
            return new GpuMemory(List.of());
        }
        return new GpuMemory(List.of("nvidia-smi", "--query-gpu=memory.total,memory.used", "--format=csv,noheader,nounits",
                "-i", String.valueOf(cudaDevice)));
    }

    public synchronized Optional<Reading> read() {
        long now = System.currentTimeMillis();
        if (command.isEmpty() || now - readAtMs < CACHE_MS) {
            return last;
        }
        readAtMs = now;
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out;
            try (InputStream in = p.getInputStream()) {
                out = new String(in.readNBytes(4096), StandardCharsets.UTF_8);
            }
            if (!p.waitFor(2, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException("nvidia-smi failed: " + out.strip());
            }
            last = parse(out);
        } catch (IOException | RuntimeException e) {
            if (!warned) {
                LOG.warn("GPU memory not reported: {}", e.getMessage());
                warned = true;
            }
            last = Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return last;
    }

    /** Parses nvidia-smi's {@code total, used} line, in MiB. */
    static Optional<Reading> parse(String csv) {
        String line = csv.strip().lines().findFirst().orElse("");
        String[] parts = line.split(",");
        if (parts.length != 2) {
            return Optional.empty();
        }
        try {
            long mib = 1024L * 1024L;
            return Optional.of(new Reading(Long.parseLong(parts[0].strip()) * mib, Long.parseLong(parts[1].strip()) * mib));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
