package dev.cnfarm.trainer.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * Latents of a training set encoded once and kept in a file of the work folder, so a resumed run
 * (and every run after the first) skips the encoding. The file is written beside and renamed into
 * place; an unreadable one (a run stopped while writing it) is encoded again.
 */
public final class LatentCache {
    private LatentCache() {}

    /**
     * The latents in {@code file}, or {@code compute}d and written there.
     */
    public static float[][] load(Path file, Supplier<float[][]> compute) {
        if (Files.isRegularFile(file)) {
            try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
                int n = in.readInt();
                int per = in.readInt();
                float[][] out = new float[n][per];
                for (float[] row : out) {
                    for (int i = 0; i < per; i++) {
                        row[i] = in.readFloat();
                    }
                }
                return out;
            } catch (IOException e) {
                // unreadable (a run stopped while writing it): encode again
            }
        }
        float[][] latents = compute.get();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp)))) {
            out.writeInt(latents.length);
            out.writeInt(latents[0].length);
            for (float[] row : latents) {
                for (float v : row) {
                    out.writeFloat(v);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + tmp + ": " + e.getMessage(), e);
        }
        try {
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return latents;
    }

}
