package dev.cnfarm.faults;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A farm command ({@code farm worker}, {@code farm coordinator}) run as its own process from the
 * built CLI jar, as an operator would run it, so a test can kill it for real: SIGKILL (no
 * shutdown hook runs, sockets just drop) or SIGTERM (the shutdown hook drains it).
 */
final class FarmProcess implements AutoCloseable {
    /** Built by the cli module's package phase, which runs before this module's tests. */
    static final Path JAR = Path.of("../cli/target/farm.jar");
    static final Path LOGS = Path.of("target/fault-logs");

    private final String name;
    private final Process process;
    private final Path log;

    private FarmProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    static FarmProcess start(String name, List<String> args) throws IOException {
        if (!Files.exists(JAR)) {
            throw new IllegalStateException(JAR.toAbsolutePath() + " is missing: build the cli module first (./mvnw package)");
        }
        Files.createDirectories(LOGS);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx768m", "-jar", JAR.toString()));
        cmd.addAll(args);
        Path log = LOGS.resolve(name + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new FarmProcess(name, p, log);
    }

    /** Waits for a line of the process's output; fails with the log's tail if the process ends first. */
    FarmProcess awaitLine(String text, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log).contains(text)) {
                return this;
            }
            if (!process.isAlive()) {
                throw new AssertionError(name + " exited (" + process.exitValue() + ") before '" + text + "':\n" + tail());
            }
            Thread.sleep(100);
        }
        throw new AssertionError(name + " did not print '" + text + "' within " + timeout + ":\n" + tail());
    }

    /** SIGKILL: the process gets no chance to clean up. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM, then wait for the shutdown hooks to finish. */
    int terminate(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(name + " did not stop within " + timeout + " of SIGTERM:\n" + tail());
        }
        return process.exitValue();
    }

    String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    private String tail() {
        try {
            String s = log();
            return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
