package dev.cnfarm.cli.local;

import dev.cnfarm.common.config.ConfigKey;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;

/**
 * How the other commands on this machine find a farm that {@code farm up} is running: it writes
 * the settings a client needs (Kafka, S3, the API's address and its admin token) to
 * {@code DATA/local/farm.yaml}, with its process id, readable by the owner only, and deletes it when
 * it stops. A command without {@code --config} or {@code FARM_CONFIG} reads the file while that
 * process lives, so {@code farm tokens create} or {@code farm submit} in another terminal talk to
 * the running farm instead of localhost:9092; a file left by a killed farm is ignored.
 */
public final class RunningFarmFile {
    public static final String FILE_NAME = "farm.yaml";
    private static final String PID_LINE = "# pid ";
    private static final List<String> CLIENT_PREFIXES = List.of("kafka.", "s3.", "api.");

    private RunningFarmFile() {}

    /** The file of a farm whose data are in {@code localDir}. */
    public static Path in(Path localDir) {
        return localDir.resolve(FILE_NAME);
    }

    /** Writes the client settings of {@code config} for the running process. */
    public static void write(Path file, FarmConfig config) {
        StringBuilder yaml = new StringBuilder("# written by farm up; deleted when it stops\n").append(PID_LINE)
                .append(ProcessHandle.current().pid()).append('\n');
        for (ConfigKey k : ConfigKeys.ALL) {
            String v = config.get(k);
            if (CLIENT_PREFIXES.stream().anyMatch(p -> k.name().startsWith(p)) && v != null && !v.isEmpty()
                    && !v.equals(k.defaultValue())) {
                yaml.append(k.name()).append(": \"").append(v.replace("\\", "\\\\").replace("\"", "\\\"")).append("\"\n");
            }
        }
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
            Files.deleteIfExists(tmp);
            try {
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException e) {
                Files.createFile(tmp);
            }
            Files.writeString(tmp, yaml);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The file, when it exists and the process that wrote it still runs. */
    public static Optional<Path> live(Path file) {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(PID_LINE)) {
                    long pid = Long.parseLong(line.substring(PID_LINE.length()).trim());
                    return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).map(p -> file);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // unreadable: as if absent
        }
        return Optional.empty();
    }

    public static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // a file left behind is ignored once its process is gone
        }
    }
}
