package dev.cnfarm.trainer.train;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.models.weights.SafetensorsFile;
import dev.cnfarm.models.weights.SafetensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A stage's checkpoint: a folder with the weights ({@code weights.safetensors}, fp32, keyed by
 * {@code component.key}), the moving average when there is one ({@code ema.safetensors}), the
 * optimiser's state ({@code optimizer.pt}, libtorch's archive) and {@code state.json} (the step,
 * the loss history). A checkpoint is written beside the old one and renamed into place, so a run
 * killed while writing resumes from the previous one.
 */
public final class Checkpoint {
    public static final String WEIGHTS = "weights.safetensors";
    public static final String EMA = "ema.safetensors";
    public static final String OPTIMIZER = "optimizer.pt";
    /** The optimiser of parameters that joined the training later (the large-scale regime's decoder). */
    public static final String JOINED_OPTIMIZER = "optimizer-joined.pt";
    public static final String STATE = "state.json";

    /** What a checkpoint records besides tensors. {@code losses}: [step, loss] pairs. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record State(String stage, long step, long totalSteps, long emaUpdates, List<double[]> losses, Map<String, Object> extra) {}

    private Checkpoint() {}

    public static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve(STATE));
    }

    /** Writes a checkpoint into {@code dir} (replacing what is there). */
    public static void write(Path dir, State state, Map<String, float[]> weights, Map<String, long[]> shapes, Map<String, float[]> ema,
                             Optimiser optimiser) {
        write(dir, state, weights, shapes, ema, optimiser, null);
    }

    /** @param joinedOptimiser the optimiser of parameters that joined later, or null */
    public static void write(Path dir, State state, Map<String, float[]> weights, Map<String, long[]> shapes, Map<String, float[]> ema,
                             Optimiser optimiser, Optimiser joinedOptimiser) {
        Path tmp = dir.resolveSibling(dir.getFileName() + ".writing");
        try {
            dev.cnfarm.common.storage.Folders.deleteRecursively(tmp);
            Files.createDirectories(tmp);
            SafetensorsWriter.write(tmp.resolve(WEIGHTS), tensors(weights, shapes), "F32", Map.of("stage", state.stage()));
            if (ema != null) {
                SafetensorsWriter.write(tmp.resolve(EMA), tensors(ema, shapes), "F32", Map.of("stage", state.stage()));
            }
            if (optimiser != null) {
                optimiser.save(tmp.resolve(OPTIMIZER));
            }
            if (joinedOptimiser != null) {
                joinedOptimiser.save(tmp.resolve(JOINED_OPTIMIZER));
            }
            Json.mapper().writerWithDefaultPrettyPrinter().writeValue(tmp.resolve(STATE).toFile(), state);
            Path old = dir.resolveSibling(dir.getFileName() + ".old");
            dev.cnfarm.common.storage.Folders.deleteRecursively(old);
            if (Files.exists(dir)) {
                Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            dev.cnfarm.common.storage.Folders.deleteRecursively(old);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The checkpoint in {@code dir}, or the previous one when a write was cut short. */
    public static Path resolve(Path dir) {
        if (exists(dir)) {
            return dir;
        }
        Path old = dir.resolveSibling(dir.getFileName() + ".old");
        return exists(old) ? old : dir;
    }

    public static State readState(Path dir) {
        try {
            return Json.mapper().readValue(dir.resolve(STATE).toFile(), State.class);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve(STATE) + ": " + e.getMessage(), e);
        }
    }

    /** Every tensor of a safetensors file of a checkpoint, as float32. */
    public static Map<String, float[]> readTensors(Path file) {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.tensors().keySet()) {
                out.put(name, f.readFloats(name));
            }
        }
        return out;
    }

    private static Map<String, SafetensorsWriter.Tensor> tensors(Map<String, float[]> values, Map<String, long[]> shapes) {
        Map<String, SafetensorsWriter.Tensor> out = new LinkedHashMap<>();
        values.forEach((k, v) -> out.put(k, new SafetensorsWriter.Tensor(shapes.get(k), v)));
        return out;
    }

}
