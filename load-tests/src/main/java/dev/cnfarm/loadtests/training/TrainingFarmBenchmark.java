package dev.cnfarm.loadtests.training;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.cli.trainer.ControlNetTrainingTasks;
import dev.cnfarm.cli.trainer.ModelPublisher;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.embedded.LocalInfrastructure;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.common.storage.Archives;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.coordinator.CoordinatorService;
import dev.cnfarm.coordinator.auth.Role;
import dev.cnfarm.loadtests.report.Charts;
import dev.cnfarm.trainer.data.ShapesDataset;
import dev.cnfarm.worker.WorkerService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * ControlNet training as a farm job, end to end on the embedded farm: the shapes base, a Canny data
 * set uploaded as one archive, one training job per regime (every link from the start; the paper's
 * small-scale regime, only the middle-block link until half-way; the large-scale regime, the base's
 * decoder unlocked half-way), each taken by a trainer of the train pool with a sample grid every
 * {@code --sample-every} steps. Reports the samples' edge F1 against steps for each regime (the
 * fidelity curve the dashboard shows), steps per second through the farm, and the times from submit
 * to the first step, to the published model and to the first image a render worker made with it.
 */
public final class TrainingFarmBenchmark {
    /** One regime's run through the farm. */
    record Run(String regime, String jobId, double submitToFirstStepS, double submitToDoneS, double doneToFirstImageS,
               double submitToFirstImageS, double stepsPerSecond, Map<Double, Double> edgeF1, double baselineEdgeF1, String firstImageState) {}

    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        int steps = 500;
        int sampleEvery = 100;
        int rows = 2048;
        List<String> regimes = List.of("standard", "small-scale", "large-scale");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root" -> root = Path.of(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--sample-every" -> sampleEvery = Integer.parseInt(args[++i]);
                case "--rows" -> rows = Integer.parseInt(args[++i]);
                case "--regimes" -> regimes = List.of(args[++i].split(","));
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + "; known: --root DIR, --steps N, --sample-every N, --rows N, --regimes standard,small-scale,large-scale");
            }
        }
        Path base = root.resolve("trained/shapes").toAbsolutePath();
        Path reportDir = root.resolve("load-tests/reports/training-farm");
        Path work = root.resolve(".farm/bench/training-farm").toAbsolutePath();
        dev.cnfarm.common.storage.Folders.deleteRecursively(work);
        Files.createDirectories(reportDir);
        System.out.println("data set: " + rows + " shapes rows at 128 px");
        Path manifest = ShapesDataset.write(work.resolve("data"), rows, 128, 11, ShapesDataset.Split.TRAIN, (d, t) -> { });
        byte[] archive = Archives.zip(manifest.getParent());
        byte[] map = Files.readAllBytes(manifest.getParent().resolve(String.format("canny/%06d.png", rows - 1)));

        Map<String, String> settings = Map.of("coordinator.port", "0", "worker.metrics-port", "-1");
        List<Run> runs = new ArrayList<>();
        try (LocalInfrastructure infra = LocalInfrastructure.start(ConfigLoader.defaults(settings), work.resolve("farm"), 0, 0, Map.of());
             ObjectStore store = new MinioObjectStore(infra.config().s3())) {
            FarmConfig config = infra.config();
            Topics topics = new Topics(config.kafka().topicPrefix());
            store.ensureBucket();
            String dataset = store.put(ObjectKeys.upload("default", Sha256.of(archive)), archive, "application/zip").key();
            String control = store.put(ObjectKeys.upload("default", Sha256.of(map)), map, "image/png").key();
            try (CoordinatorService coordinator = CoordinatorService.start(config);
                 KafkaProducer<String, byte[]> models = KafkaClients.producer(config.kafka(), "bench-trainer-models");
                 WorkerService trainer = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "trainer").with(ConfigKeys.WORKER_POOL, "train")
                         .with(ConfigKeys.WORKER_PROGRESS_EVERY, "5"), s -> new ControlNetTrainingTasks(s, work.resolve("trainer"),
                         List.of(base), m -> ModelPublisher.send(models, topics, m)));
                 WorkerService renderer = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "renderer")
                         .with(ConfigKeys.WORKER_MODEL_DIR, work.resolve("render-models").toString()))) {
                FarmClient client = new FarmClient(coordinator.url(config), coordinator.issueToken("default", Role.TENANT, "training bench"));
                for (String regime : regimes) {
                    Run r = run(client, regime, dataset, control, steps, sampleEvery);
                    runs.add(r);
                    // the last sample grid of each regime beside the report: what the numbers look like
                    try (var grids = Files.list(work.resolve("trainer").resolve(r.jobId()).resolve("run/samples"))) {
                        Path last = grids.filter(g -> g.getFileName().toString().startsWith("samples-step-")).sorted()
                                .reduce((a, b) -> b).orElseThrow();
                        Files.copy(last, reportDir.resolve("samples-" + regime + ".png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        }
        report(reportDir, runs, steps, sampleEvery, rows);
    }

    private static Run run(FarmClient client, String regime, String dataset, String control, int steps, int sampleEvery) throws Exception {
        String name = "bench-canny-" + regime;
        String extra = switch (regime) {
            case "standard" -> "";
            case "small-scale" -> ", \"links\": \"small-scale\", \"reconnect_at\": " + steps / 2;
            case "large-scale" -> ", \"unlock_decoder_at\": " + steps / 2;
            default -> throw new IllegalArgumentException("regimes are standard, small-scale and large-scale, got " + regime);
        };
        String job = """
                {"name": "bench %s", "train_controlnet": {"name": "%s", "base": "shapes", "dataset": "%s", "condition": "canny",
                 "steps": %d, "batch": 16, "learning_rate": 0.001, "warmup_steps": 50, "timestep_sampling": "cubic", "seed": 1,
                 "checkpoint_every": %d, "sample_every": %d, "samples": 8, "validation": 64%s}}
                """.formatted(regime, name, dataset, steps, sampleEvery, sampleEvery, extra);
        long t0 = System.nanoTime();
        String jobId = client.submit(job, null, false).get("job_id").asText();
        double firstStep = Double.NaN;
        JsonNode last;
        long lastPrint = 0;
        while (true) {
            last = client.job(jobId);
            double now = (System.nanoTime() - t0) / 1e9;
            if (Double.isNaN(firstStep) && last.at("/tasks/0/step").asInt() > 0) {
                firstStep = now;
            }
            if (List.of("succeeded", "failed", "cancelled").contains(last.at("/job/state").asText())) {
                break;
            }
            if (System.nanoTime() - lastPrint > 15_000_000_000L) {
                lastPrint = System.nanoTime();
                System.out.printf(Locale.ROOT, "%s: step %d/%d, loss %.4f, %.2f steps/s, edge F1 %.3f (%.0f s)%n", regime,
                        last.at("/tasks/0/step").asInt(), steps, last.at("/tasks/0/loss").asDouble(),
                        last.at("/tasks/0/steps_per_second").asDouble(), last.at("/tasks/0/edge_f1").asDouble(), now);
            }
            Thread.sleep(500);
        }
        double done = (System.nanoTime() - t0) / 1e9;
        if (!last.at("/job/state").asText().equals("succeeded")) {
            throw new IllegalStateException(regime + ": the training job ended " + last.at("/job/state").asText() + ": " + last.at("/tasks/0/error"));
        }
        JsonNode curve = client.training(jobId, 0);
        Map<Double, Double> f1 = new TreeMap<>();
        double baseline = Double.NaN;
        for (JsonNode s : curve.get("samples")) {
            f1.put(s.get("step").asDouble(), s.get("edge_f1").asDouble());
            baseline = s.get("baseline_edge_f1").asDouble();
        }
        // the first image rendered with the result: as soon as a render worker lists the model
        while (!client.workers().toString().contains("\"" + name + "\"")) {
            Thread.sleep(100);
        }
        String render = client.submit("""
                {"name": "first image of %s", "model": "%s", "prompts": ["a red circle on a blue background"], "control_images": ["%s"],
                 "preprocessor": "passthrough", "steps": 20, "width": 128, "height": 128}
                """.formatted(name, name, control), null, false).get("job_id").asText();
        JsonNode r;
        do {
            Thread.sleep(100);
            r = client.job(render);
        } while (!List.of("succeeded", "failed", "cancelled").contains(r.at("/job/state").asText()));
        double firstImage = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "%s: done in %.0f s, first image %.1f s later (%s)%n", regime, done, firstImage - done,
                r.at("/job/state").asText());
        return new Run(regime, jobId, firstStep, done, firstImage - done, firstImage, steps / Math.max(1e-9, done - firstStep), f1, baseline,
                r.at("/job/state").asText());
    }

    private static void report(Path dir, List<Run> runs, int steps, int sampleEvery, int rows) throws Exception {
        StringBuilder md = new StringBuilder("# ControlNet training through the farm: fidelity against steps, submit to first image\n\nRun ")
                .append(LocalDateTime.now().withNano(0)).append(" on ").append(Runtime.getRuntime().availableProcessors())
                .append(" cores, the embedded farm (Kafka, S3, coordinator, one trainer and one render worker in one process). The "
                        + "shapes base (`trained/shapes`), ").append(rows).append(" Canny rows at 128 px uploaded as one archive; each "
                        + "regime one training job of ").append(steps).append(" steps of batch 16, learning rate 1e-3, cubic timesteps, seed "
                        + "1; every ").append(sampleEvery).append(" steps a grid of 8 held-out rows rendered with the checkpoint's "
                        + "ControlNet (20 Euler steps, guidance 7.5) and scored by edge F1 against the rows' own edges (2 pixels). "
                        + "Small-scale: only the middle-block link until step ").append(steps / 2).append("; large-scale: the base's "
                        + "decoder unlocked at step ").append(steps / 2).append(" (its rate a tenth of the ControlNet's).\n\n");
        md.append("| regime | edge F1 at each sample | base alone | steps/s through the farm | submit to first step s | submit to published s "
                + "| published to first image s | submit to first image s |\n|---|---|---|---|---|---|---|---|\n");
        Map<String, Map<Double, Double>> series = new LinkedHashMap<>();
        for (Run r : runs) {
            StringBuilder f = new StringBuilder();
            r.edgeF1().forEach((s, v) -> f.append(f.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.0f: %.3f", s, v)));
            md.append(String.format(Locale.ROOT, "| %s | %s | %.3f | %.2f | %.1f | %.0f | %.1f | %.0f |%n", r.regime(), f, r.baselineEdgeF1(),
                    r.stepsPerSecond(), r.submitToFirstStepS(), r.submitToDoneS(), r.doneToFirstImageS(), r.submitToFirstImageS()));
            Map<Double, Double> s = new TreeMap<>(r.edgeF1());
            s.put(0.0, r.baselineEdgeF1()); // a ControlNet at its start adds nothing: the base alone
            series.put(r.regime(), s);
        }
        md.append("\nSteps per second through the farm include the sample grids (a bundle built and 16 images rendered per interval) and "
                + "checkpoint uploads. Published to first image: the render worker reads the models topic, fetches the bundle from S3, "
                + "opens its sessions and renders one 20-step image.\n\n![edge F1 against steps](fidelity-vs-steps.png)\n\n"
                + "The last sample grid of each regime (rows: control map, sample, the data set's image): ");
        for (Run r : runs) {
            md.append("[").append(r.regime()).append("](samples-").append(r.regime()).append(".png) ");
        }
        md.append("\n");
        Charts.lines(dir.resolve("fidelity-vs-steps.png"), "Samples' edge F1 against training steps (step 0: the base alone)",
                "training step", "edge F1", series);
        Json.mapper().writerWithDefaultPrettyPrinter().writeValue(dir.resolve("runs.json").toFile(), runs);
        Files.writeString(dir.resolve("report.md"), md);
        System.out.println("report: " + dir.resolve("report.md"));
    }

}
