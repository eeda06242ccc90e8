package dev.cnfarm.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.embedded.FreePorts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The farm as separate processes, started from the built CLI jar the way an operator would:
 * {@code farm infra}, {@code farm coordinator}, two {@code farm worker}s; then {@code farm submit
 * --watch} and {@code farm download} as processes too. The job must complete across both workers.
 */
class SeparateProcessesIT {
    private static final Path JAR = Path.of("target/farm.jar");
    private static final Path LOGS = Path.of("target/process-logs");
    private final List<Process> processes = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterEach
    void stopAll() throws InterruptedException {
        for (Process p : processes) {
            p.destroy(); // SIGTERM: the shutdown hooks drain the workers and stop the servers
        }
        for (Process p : processes) {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    @Test
    void jobCompletesAcrossInfraCoordinatorAndTwoWorkerProcesses() throws Exception {
        assertThat(JAR).as("the CLI jar is built in the package phase").exists();
        Files.createDirectories(LOGS);
        Path config = dir.resolve("infra.yaml");
        String dataDir = "data-dir=" + dir.resolve("data");

        Process infra = start("infra", "infra", "--write-config", config.toString(), "--set", dataDir);
        awaitLine("infra", infra, "farm infra ready", Duration.ofSeconds(120));

        int port = FreePorts.pick();
        Process coordinator = start("coordinator", "coordinator", "--config", config.toString(),
                "--set", "coordinator.port=" + port, "--set", dataDir);
        awaitLine("coordinator", coordinator, "coordinator ready", Duration.ofSeconds(120));
        String api = "http://127.0.0.1:" + port;

        // the operator makes a tenant's token with the farm's Kafka settings, as on a real farm
        Process tokens = start("tokens", "tokens", "create", "--tenant", "studio-a", "--name", "separate processes",
                "--config", config.toString(), "--set", dataDir);
        assertThat(tokens.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String tokensLog = Files.readString(LOGS.resolve("tokens.log"));
        assertThat(tokens.exitValue()).as(tokensLog).isZero();
        Matcher made = Pattern.compile("farm_[0-9a-f]{16}_[A-Za-z0-9_-]{43}").matcher(tokensLog);
        assertThat(made.find()).as(tokensLog).isTrue();
        String token = made.group();
        Path tokenFile = dir.resolve("token.txt");
        Files.writeString(tokenFile, token + "\n");

        Process w1 = start("worker-1", "worker", "--config", config.toString(), "--id", "proc-worker-1", "--set", dataDir);
        Process w2 = start("worker-2", "worker", "--config", config.toString(), "--id", "proc-worker-2", "--set", dataDir);
        awaitLine("worker-1", w1, "ready", Duration.ofSeconds(120));
        awaitLine("worker-2", w2, "ready", Duration.ofSeconds(120));

        Path samples = Path.of("../samples/control").toAbsolutePath().normalize();
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, """
                name: separate processes
                prompts: [one, two]
                control_images: [%s/house.png, %s/face.png, %s/pose.png, %s/mountains.png]
                seeds: [1, 2]
                steps: 40
                width: 256
                height: 256
                """.formatted(samples, samples, samples, samples));
        Process submit = start("submit", Map.of("FARM_API_TOKEN", token), "submit", job.toString(), "--watch", "--api", api);
        assertThat(submit.waitFor(300, TimeUnit.SECONDS)).as("submit --watch finished").isTrue();
        String submitLog = Files.readString(LOGS.resolve("submit.log"));
        assertThat(submit.exitValue()).as(submitLog).isZero();
        Matcher m = Pattern.compile("submitted job (job-[0-9a-f]+)").matcher(submitLog);
        assertThat(m.find()).as(submitLog).isTrue();
        String jobId = m.group(1);

        JsonNode snapshot = new FarmClient(api, token).job(jobId);
        assertThat(snapshot.at("/job/tenant").asText()).isEqualTo("studio-a");
        assertThat(snapshot.at("/job/state").asText()).isEqualTo("succeeded");
        assertThat(snapshot.at("/job/succeeded").asInt()).isEqualTo(16);
        Set<String> workers = new HashSet<>();
        snapshot.get("tasks").forEach(t -> workers.add(t.get("worker").asText()));
        assertThat(workers).as("tasks were shared by both worker processes").containsExactlyInAnyOrder("proc-worker-1", "proc-worker-2");

        Path out = dir.resolve("out");
        // a mounted secret file works as well as the variable
        Process download = start("download", Map.of("FARM_API_TOKEN_FILE", tokenFile.toString()), "download", jobId, out.toString(),
                "--api", api);
        assertThat(download.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(download.exitValue()).isZero();
        try (var files = Files.list(out)) {
            assertThat(files.filter(f -> f.toString().endsWith(".png")).count()).isEqualTo(16);
        }
        Process again = start("download-again", Map.of("FARM_API_TOKEN", token), "download", jobId, out.toString(), "--api", api);
        assertThat(again.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(LOGS.resolve("download-again.log"))).contains("0 image(s) downloaded").contains("16 already there");
    }

    private Process start(String name, String... args) throws IOException {
        return start(name, Map.of(), args);
    }

    private Process start(String name, Map<String, String> env, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(javaBin(), "-Xmx1g", "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(LOGS.resolve(name + ".log").toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private static void awaitLine(String name, Process p, String text, Duration timeout) throws Exception {
        Path log = LOGS.resolve(name + ".log");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log).contains(text)) {
                return;
            }
            if (!p.isAlive()) {
                throw new AssertionError(name + " exited with " + p.exitValue() + ":\n" + Files.readString(log));
            }
            Thread.sleep(200);
        }
        throw new AssertionError(name + " did not print '" + text + "' within " + timeout.toSeconds() + " s:\n"
                + (Files.exists(log) ? Files.readString(log) : ""));
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
