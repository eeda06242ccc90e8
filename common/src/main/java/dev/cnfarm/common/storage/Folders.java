package dev.cnfarm.common.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Removing a folder and everything in it: one place for the walk that work folders, bundles and benchmarks need. */
public final class Folders {
    private Folders() {}

    /** Deletes {@code p} and everything below it; nothing when it does not exist. */
    public static void deleteRecursively(Path p) throws IOException {
        if (p == null || !Files.exists(p)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }

    /** {@link #deleteRecursively}, failing unchecked. */
    public static void delete(Path p) {
        try {
            deleteRecursively(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + p + ": " + e.getMessage(), e);
        }
    }

    /** {@link #deleteRecursively}, leaving what cannot be deleted (leftovers of temporary work). */
    public static void deleteQuietly(Path p) {
        try {
            deleteRecursively(p);
        } catch (IOException e) {
            // left behind; harmless
        }
    }
}
