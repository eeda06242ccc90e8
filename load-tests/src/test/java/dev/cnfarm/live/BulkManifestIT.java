package dev.cnfarm.live;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.FarmCommand;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.loadtests.SimulatedFarm;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Bulk work through the CLI, one command each: a 1,000-row CSV manifest (with 50 distinct local
 * control images) is submitted, watched and downloaded; a second download fetches nothing. Then a
 * 10,000-row manifest is submitted to time the CLI's submit (and cancelled).
 */
class BulkManifestIT {
    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {}

    private static Run farm(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = FarmCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    private Path manifest(String name, int rows, int images) throws Exception {
        Path imgDir = Files.createDirectories(dir.resolve("img"));
        for (int i = 0; i < images; i++) {
            Path p = imgDir.resolve("c" + i + ".png");
            if (!Files.exists(p)) {
                BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
                img.setRGB(i % 64, i / 64, 0xffffff); // one white pixel: every file differs
                ImageIO.write(img, "png", p.toFile());
            }
        }
        StringBuilder csv = new StringBuilder("prompt,negative_prompt,control_image,seed,steps\n");
        for (int r = 0; r < rows; r++) {
            csv.append("\"bulk row ").append(r).append(", a sketch\",,img/c").append(r % images).append(".png,").append(r)
                    .append(',').append(r % 7 == 0 ? "2" : "").append('\n');
        }
        Path m = dir.resolve(name + ".csv");
        Files.writeString(m, csv);
        Path job = dir.resolve(name + ".yaml");
        Files.writeString(job, "name: " + name + "\nmanifest: " + m.getFileName() + "\nmodel: simulated\nsteps: 1\nwidth: 64\nheight: 64\n");
        return job;
    }

    @Test
    void aThousandRowManifestSubmitsWatchesAndDownloadsInOneCommandEach() throws Exception {
        FarmConfig base = FarmTestInfra.testConfig(Map.of("coordinator.port", "0", "worker.heartbeat-ms", "500"));
        // the simulated farm's in-process workers (named bulk-N) take the tasks; the CLI talks to it over HTTP
        try (SimulatedFarm cluster = SimulatedFarm.start(base, dir.resolve("farm"), 8, 0, "bulk")) {
            String api = cluster.url();
            String token = "api.token=" + cluster.token();
            Path job = manifest("bulk-1000", 1000, 50);

            Run quote = farm("submit", job.toString(), "--dry-run", "--api", api, "--set", token, "-o", "json");
            assertThat(quote.exit()).as(quote.err()).isZero();
            JsonNode q = Json.mapper().readTree(quote.out()).path("quote");
            assertThat(q.path("task_count").asInt()).isEqualTo(1000);
            assertThat(q.path("control_images_to_upload").asInt()).isEqualTo(50);

            long t0 = System.nanoTime();
            Run submit = farm("submit", job.toString(), "--api", api, "--set", token, "-o", "json");
            long submitMs = (System.nanoTime() - t0) / 1_000_000;
            assertThat(submit.exit()).as(submit.err()).isZero();
            String jobId = Json.mapper().readTree(submit.out()).path("job_id").asText();

            Run watch = farm("watch", jobId, "--api", api, "--set", token, "--timeout", "10m");
            assertThat(watch.exit()).as(watch.err() + watch.out()).isZero();
            JsonNode status = cluster.client().job(jobId);
            assertThat(status.at("/job/succeeded").asInt()).isEqualTo(1000);

            Path out = dir.resolve("out");
            Run first = farm("download", jobId, out.toString(), "--api", api, "--set", token, "-o", "json");
            assertThat(first.exit()).as(first.err()).isZero();
            assertThat(Json.mapper().readTree(first.out()).path("downloaded").asInt()).isEqualTo(1000);
            try (var files = Files.list(out)) {
                assertThat(files.filter(p -> p.toString().endsWith(".png")).count()).isEqualTo(1000);
            }
            Run second = farm("download", jobId, out.toString(), "--api", api, "--set", token, "-o", "json");
            JsonNode again = Json.mapper().readTree(second.out());
            assertThat(again.path("downloaded").asInt()).isZero();
            assertThat(again.path("skipped").asInt()).isEqualTo(1000);

            Run jobs = farm("jobs", "--api", api, "--set", token);
            assertThat(jobs.out()).contains(jobId).contains("1000/1000");

            // the 10,000-row manifest: only the submit is timed; the job is cancelled
            Path big = manifest("bulk-10000", 10_000, 50);
            long b0 = System.nanoTime();
            Run bigSubmit = farm("submit", big.toString(), "--api", api, "--set", token, "-o", "json");
            long bigMs = (System.nanoTime() - b0) / 1_000_000;
            assertThat(bigSubmit.exit()).as(bigSubmit.err()).isZero();
            String bigId = Json.mapper().readTree(bigSubmit.out()).path("job_id").asText();
            assertThat(cluster.client().job(bigId).at("/job/task_count").asInt()).isEqualTo(10_000);
            assertThat(farm("cancel", bigId, "--api", api, "--set", token).exit()).isZero();

            String line = String.format("CLI submit: 1,000-row manifest %d ms (50 images uploaded), 10,000-row manifest %d ms "
                    + "(50 images already there)%n", submitMs, bigMs);
            System.out.print(line);
            Files.writeString(Path.of("target/live-measurements.txt"), line, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
    }
}
