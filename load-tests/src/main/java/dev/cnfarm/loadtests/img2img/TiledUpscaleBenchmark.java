package dev.cnfarm.loadtests.img2img;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.loadtests.SimulatedFarm;
import dev.cnfarm.loadtests.report.Charts;
import dev.cnfarm.worker.WorkerService;
import dev.cnfarm.worker.render.SimulatedRenderer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * A tiled 2048x2048 upscale (a 512x512 image, 4x, tiles of 512 overlapping by 64: 25 tiles, then
 * one blend) on 1, 2 and 4 simulated GPUs: makespan against the ideal (the base, the tiles in
 * waves of the worker count, the blend, back to back) and what is left per stage boundary, the
 * dependency scheduling's overhead. Then the same shape of job on the trained shapes model with two
 * real workers, 128 to 512: the before and after images and the seam metric.
 */
public final class TiledUpscaleBenchmark {
    private static final String JOB = """
            {"prompts": ["a red circle on a blue background"], "seeds": [3], "steps": %d, "width": %d, "height": %d, "model": "%s",
             "upscale": {"scale": 4, "tile": %d, "overlap": %d, "strength": %s}}""";

    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        long msPerStep = 50;
        int steps = 10;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root" -> root = Path.of(args[++i]);
                case "--ms-per-step" -> msPerStep = Long.parseLong(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + "; known: --root DIR, --ms-per-step MS, --steps N");
            }
        }
        Path report = Files.createDirectories(root.resolve("load-tests/reports/tiled-upscale"));
        StringBuilder md = new StringBuilder("# Tiled upscaling across workers\n\nRun ").append(LocalDateTime.now().withNano(0)).append(" on ")
                .append(Runtime.getRuntime().availableProcessors()).append(" cores.\n\n");
        md.append(String.format(Locale.ROOT, "A 512x512 image upscaled 4x to 2048x2048 with tiles of 512 overlapping by 64 (5 x 5 = 25 "
                + "tiles, then one blend) on simulated GPUs of %d ms a step, %d steps a task (a simulated GPU runs every step, whatever the "
                + "strength). Ideal: the base task's steps, the tiles' steps in waves of the worker count, the blend's own time, back to "
                + "back. What is left, (makespan - ideal) / 2 per stage boundary, is everything but the steps: releasing the next stage "
                + "when its dependencies succeed, the tiles' input (the enlarged 2048x2048 init image made once, then cropped; kept "
                + "in memory for the next tiles on a worker), encoding and storing 25 tile PNGs and the 2048x2048 result, the blend "
                + "fetching its tiles.%n%n| workers | makespan s | ideal s | beyond the steps, per stage boundary s | "
                + "speed-up |%n|---|---|---|---|---|%n", msPerStep, steps));
        Map<Double, Double> makespans = new LinkedHashMap<>();
        Map<Double, Double> ideals = new LinkedHashMap<>();
        double one = 0;
        for (int workers : new int[] {1, 2, 4}) {
            double[] r = simulated(workers, msPerStep, steps);
            one = workers == 1 ? r[0] : one;
            makespans.put((double) workers, r[0]);
            ideals.put((double) workers, r[1]);
            md.append(String.format(Locale.ROOT, "| %d | %.1f | %.1f | %.2f | %.2fx |%n", workers, r[0], r[1], (r[0] - r[1]) / 2, one / r[0]));
            System.out.printf(Locale.ROOT, "%d workers: makespan %.1f s (ideal %.1f s)%n", workers, r[0], r[1]);
        }
        Charts.lines(report.resolve("makespan.png"), "Tiled 2048x2048 upscale on simulated GPUs", "workers", "seconds",
                Map.of("makespan", makespans, "ideal", ideals));
        md.append("\n![makespan](makespan.png)\n\n");
        md.append(real(report));
        Files.writeString(report.resolve("report.md"), md);
        System.out.println("report: " + report.resolve("report.md"));
    }

    /** {makespan, ideal} in seconds. */
    private static double[] simulated(int workers, long msPerStep, int steps) throws Exception {
        Path data = Files.createTempDirectory("upscale-bench");
        FarmConfig base = ConfigLoader.defaults(Map.of("coordinator.port", "0", "worker.heartbeat-ms", "1000"));
        try (SimulatedFarm farm = SimulatedFarm.start(base, data, workers, msPerStep, "sim")) {
            FarmClient client = farm.client();
            awaitWorkers(client, workers);
            long t0 = System.nanoTime();
            String id = client.submit(JOB.formatted(steps, 512, 512, SimulatedRenderer.MODEL_ID, 512, 64, "0.35"), null, false)
                    .get("job_id").asText();
            JsonNode job = awaitEnd(client, id);
            double makespan = (System.nanoTime() - t0) / 1e9;
            double blend = job.get("tasks").get(26).get("render_ms").asDouble() / 1000;
            double stepS = msPerStep / 1000.0;
            double ideal = steps * stepS + Math.ceil(25.0 / workers) * steps * stepS + blend;
            return new double[] {makespan, ideal};
        }
    }

    /** The shapes model on two real workers: before, after, seam metric. */
    private static String real(Path report) throws Exception {
        Path data = Files.createTempDirectory("upscale-real");
        FarmConfig base = ConfigLoader.defaults(Map.of("coordinator.port", "0", "worker.heartbeat-ms", "1000"));
        try (SimulatedFarm farm = SimulatedFarm.start(base, data, 0, 1, "none");
             WorkerService a = WorkerService.start(farm.config().with(ConfigKeys.WORKER_ID, "real-a")
                     .with(ConfigKeys.WORKER_MODEL_DIR, data.resolve("models").toString()));
             WorkerService b = WorkerService.start(farm.config().with(ConfigKeys.WORKER_ID, "real-b")
                     .with(ConfigKeys.WORKER_MODEL_DIR, data.resolve("models").toString()))) {
            FarmClient client = farm.client();
            awaitWorkers(client, 2);
            StringBuilder md = new StringBuilder("## The trained shapes model, two workers\n\n128x128 upscaled 4x to 512x512, tiles of 128 "
                    + "overlapping by 32 (25 tiles), 20 steps, the prompt of the base image on every tile, no tile ControlNet.\n\n"
                    + "| strength | seam metric | tiles per worker |\n|---|---|---|\n");
            try (ObjectStore store = new MinioObjectStore(farm.config().s3())) {
                for (String strength : List.of("0.15", "0.35")) {
                    String id = client.submit(JOB.formatted(20, 128, 128, "shapes", 128, 32, strength), null, false).get("job_id").asText();
                    JsonNode job = awaitEnd(client, id);
                    BufferedImage before = ImageIO.read(new ByteArrayInputStream(store.get(job.get("tasks").get(0).get("output_key").asText())));
                    BufferedImage after = ImageIO.read(new ByteArrayInputStream(store.get(job.get("tasks").get(26).get("output_key").asText())));
                    ImageIO.write(before, "png", report.resolve("before.png").toFile());
                    ImageIO.write(after, "png", report.resolve("after-" + strength + ".png").toFile());
                    Map<String, Integer> perWorker = new LinkedHashMap<>();
                    for (int i = 1; i <= 25; i++) {
                        perWorker.merge(job.get("tasks").get(i).get("worker").asText(), 1, Integer::sum);
                    }
                    md.append(String.format(Locale.ROOT, "| %s | %.2f | %s |%n", strength, seams(after), perWorker));
                }
            }
            md.append("\nBefore (128x128, shown at its size) and after at strength 0.15 and 0.35:\n\n![before](before.png) "
                    + "![after 0.15](after-0.15.png) ![after 0.35](after-0.35.png)\n\nThe seam metric is the mean gradient across the "
                    + "tiles' borders over the mean elsewhere (1: no seam). Without a tile ControlNet each tile follows the prompt on its "
                    + "own: tiles of plain background draw shapes of their own, more the higher the strength; the feathered blend hides "
                    + "the borders, not that.\n");
            return md.toString();
        }
    }

    private static void awaitWorkers(FarmClient client, int n) throws Exception {
        long deadline = System.currentTimeMillis() + 120_000;
        while (client.workers().get("workers").size() < n) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("the workers did not report in time");
            }
            Thread.sleep(200);
        }
    }

    private static JsonNode awaitEnd(FarmClient client, String id) throws Exception {
        long deadline = System.currentTimeMillis() + 1_800_000;
        while (true) {
            JsonNode job = client.job(id);
            String state = job.at("/job/state").asText();
            if (state.equals("succeeded")) {
                return job;
            }
            if (state.equals("failed") || state.equals("cancelled") || System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("job " + id + " ended " + state + ": " + job.toPrettyString());
            }
            Thread.sleep(100);
        }
    }

    /** The seam metric at the borders of 128-pixel tiles overlapping by 32 over 512 pixels. */
    private static double seams(BufferedImage img) {
        return dev.cnfarm.cli.eval.SeamMetric.ratio(img, List.of(96, 128, 192, 224, 288, 320, 384, 416));
    }
}
