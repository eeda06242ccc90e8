package dev.cnfarm.loadtests;

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
public final class FarmProcess implements AutoCloseable {
    /** Built by the cli module's package phase, which runs before this module's tests (run from load-tests/). */
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

    /** From the load-tests module's folder (tests), logging under {@code target/fault-logs}. */
    public static FarmProcess start(String name, List<String> args) throws IOException {
        return start(JAR, LOGS, name, "768m", args);
    }

    /**
     * @param jar  the built CLI jar
     * @param logs where its output goes, as {@code NAME.log}
     * @param heap the child JVM's -Xmx
     */
    public static FarmProcess start(Path jar, Path logs, String name, String heap, List<String> args) throws IOException {
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar.toAbsolutePath() + " is missing: build the cli module first (./mvnw package)");
        }
        Files.createDirectories(logs);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heap, "-jar", jar.toString()));
        cmd.addAll(args);
        Path log = logs.resolve(name + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new FarmProcess(name, p, log);
    }

    /** Waits for a line of the process's output; fails with the log's tail if the process ends first. */
    public FarmProcess awaitLine(String text, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log).contains(text)) {
                return this;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited (" + process.exitValue() + ") before '" + text + "':\n" + tail());
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException(name + " did not print '" + text + "' within " + timeout + ":\n" + tail());
    }

    /** SIGKILL: the process gets no chance to clean up. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGSTOP: the process stands still (a long GC pause, a VM frozen by its host) until {@link #resume()}. */
    public void pause() throws IOException, InterruptedException {
        signal("STOP");
    }

    /** SIGCONT after {@link #pause()}. */
    public void resume() throws IOException, InterruptedException {
        signal("CONT");
    }

    private void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(process.pid())).inheritIO().start();
        if (kill.waitFor() != 0) {
            throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed");
        }
    }

    /** SIGTERM, then wait for the shutdown hooks to finish. */
    public int terminate(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException(name + " did not stop within " + timeout + " of SIGTERM:\n" + tail());
        }
        return process.exitValue();
    }

    public String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    public String name() {
        return name;
    }

    public boolean isAlive() {
        return process.isAlive();
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
