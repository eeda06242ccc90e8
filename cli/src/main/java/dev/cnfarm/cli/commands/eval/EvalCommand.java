package dev.cnfarm.cli.commands.eval;

import ch.qos.logback.classic.Level;
import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.cli.eval.ControlEvaluation;
import dev.cnfarm.cli.eval.TextEvaluation;
import dev.cnfarm.cli.eval.VaeEvaluation;
import dev.cnfarm.cli.local.LocalFarm;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.bundle.TrainedModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code farm eval}: measured model quality. */
@Command(name = "eval", mixinStandardHelpOptions = true, description = "Measure what a model does, through the farm.",
        subcommands = {EvalCommand.Text.class, EvalCommand.Control.class})
public final class EvalCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    /** An evaluation's work against the farm at api.url, or against a farm started in this process for it. */
    @FunctionalInterface
    interface FarmWork {
        Object run(FarmClient client) throws Exception;
    }

    /**
     * Runs {@code work} against the configured farm, or with {@code local} against a farm started
     * here (embedded Kafka and S3, a coordinator, {@code workers} workers serving {@code serve} besides
     * the shipped models) and stopped after.
     */
    static void onFarm(FarmConfig config, boolean local, int workers, List<Path> serve, FarmWork work) throws Exception {
        if (!local) {
            work.run(FarmClient.of(config));
            return;
        }
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("dev.cnfarm")).setLevel(Level.WARN);
        FarmConfig c = config.with(ConfigKeys.COORDINATOR_PORT, "0");
        if (!serve.isEmpty()) {
            c = c.with(ConfigKeys.WORKER_MODELS, String.join(",", serve.stream().map(p -> p.toAbsolutePath().toString()).toList()));
        }
        System.out.println("starting a local farm with " + workers + " workers...");
        try (LocalFarm farm = LocalFarm.start(c, config.dataDir().resolve("eval"), workers, 0, 0)) {
            work.run(FarmClient.of(farm.config()));
        }
    }

    /** {@code farm eval text}: does a shapes model follow its captions? */
    @Command(name = "text", mixinStandardHelpOptions = true,
            description = {"Render captions of colour/shape combinations (a quarter held out of training) through the farm and score each "
                    + "image's background colour, shape colour and shape kind; writes report.md, summary.json, results.csv and "
                    + "contact sheets to --out.",
                    "Talks to the farm at api.url (farm up), or starts one in this process with --local."})
    public static final class Text implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @Option(names = "--model", defaultValue = "shapes", description = "model to evaluate (default ${DEFAULT-VALUE})")
        String model;

        @Option(names = "--count", defaultValue = "200", description = "captions (default ${DEFAULT-VALUE})")
        int count;

        @Option(names = "--steps", defaultValue = "20", description = "sampling steps (default ${DEFAULT-VALUE})")
        int steps;

        @Option(names = "--guidance", defaultValue = "7.5,1.0", split = ",",
                description = "guidance scales, one job each (default ${DEFAULT-VALUE}; 1.0 is no classifier-free guidance)")
        List<Float> guidance = new ArrayList<>();

        @Option(names = "--scheduler", defaultValue = "euler", description = "sampler (default ${DEFAULT-VALUE})")
        String scheduler;

        @Option(names = "--seed", defaultValue = "1", description = "seed of the captions and the images (default ${DEFAULT-VALUE})")
        long seed;

        @Option(names = "--size", defaultValue = "128", description = "image side (default ${DEFAULT-VALUE})")
        int size;

        @Option(names = "--vae-images", defaultValue = "64",
                description = "fresh images to measure the shipped shapes model's VAE on (PSNR); 0 skips it (default ${DEFAULT-VALUE})")
        int vaeImages;

        @Option(names = "--out", description = "report folder (default eval/text-MODEL)")
        Path out;

        @Option(names = "--local", description = "start a farm in this process (embedded Kafka and S3, coordinator, workers) for the run")
        boolean local;

        @Option(names = "--workers", defaultValue = "2", description = "workers of the --local farm (default ${DEFAULT-VALUE})")
        int workers;

        @Override
        public Integer call() throws Exception {
            if (count < 1 || steps < 1 || guidance.isEmpty()) {
                throw new IllegalArgumentException("--count and --steps must be at least 1, and --guidance must name a scale");
            }
            Path dir = out != null ? out : Path.of("eval", "text-" + model);
            TextEvaluation.Settings s = new TextEvaluation.Settings(model, count, steps, guidance, scheduler, seed, size);
            FarmConfig config = options.load();
            onFarm(config, local, workers, List.of(), client -> TextEvaluation.run(client, s, dir, System.out));
            if (vaeImages > 0 && model.equals(TrainedModels.SHAPES_ID)) {
                Optional<ModelBundle> bundle = TrainedModels.shapes(config.dataDir().resolve("models"));
                if (bundle.isPresent()) {
                    double psnr = VaeEvaluation.psnr(bundle.get(), vaeImages, size, seed + 1_000_003L);
                    String line = String.format(Locale.ROOT, "%nVAE reconstruction (the bundle's own encoder and decoder, %d fresh "
                            + "images, every colour/shape pair): PSNR %.2f dB%n", vaeImages, psnr);
                    Files.writeString(dir.resolve("report.md"), line, java.nio.file.StandardOpenOption.APPEND);
                    System.out.print(line);
                }
            }
            System.out.println("report: " + dir.resolve("report.md"));
            return 0;
        }
    }

    /** {@code farm eval control}: do a ControlNet's images follow their control maps? */
    @Command(name = "control", mixinStandardHelpOptions = true,
            description = {"Render fresh shapes scenes' control maps (positions and sizes no training scene had) with their captions "
                    + "through the farm, at each control scale (0: the base model alone), and score each image: shape mask IoU, edge F1 "
                    + "against the shape's edges (2-pixel tolerance), and whether the prompt's colour is still obeyed. Writes report.md, "
                    + "summary.json, results.csv and contact sheets to --out.",
                    "Talks to the farm at api.url (farm up), or starts one in this process with --local."})
    public static final class Control implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @Option(names = "--model", defaultValue = "shapes", split = ",",
                description = "models to evaluate (default ${DEFAULT-VALUE})")
        List<String> models = new ArrayList<>();

        @Option(names = "--controlnet", defaultValue = "", description = "which of the model's ControlNets (canny, scribble); "
                + "default: its first")
        String controlnet;

        @Option(names = "--condition", defaultValue = "canny", description = "canny or scribble: the maps rendered (default ${DEFAULT-VALUE})")
        String condition;

        @Option(names = "--count", defaultValue = "200", description = "scenes (default ${DEFAULT-VALUE})")
        int count;

        @Option(names = "--steps", defaultValue = "20", description = "sampling steps (default ${DEFAULT-VALUE})")
        int steps;

        @Option(names = "--guidance", defaultValue = "7.5", description = "guidance scale (default ${DEFAULT-VALUE})")
        float guidance;

        @Option(names = "--control-scales", defaultValue = "1.0,0", split = ",",
                description = "control scales, one job each (default ${DEFAULT-VALUE}; 0 is the baseline without control)")
        List<Float> scales = new ArrayList<>();

        @Option(names = "--scheduler", defaultValue = "euler", description = "sampler (default ${DEFAULT-VALUE})")
        String scheduler;

        @Option(names = "--seed", defaultValue = "1", description = "seed of the scenes and the images (default ${DEFAULT-VALUE})")
        long seed;

        @Option(names = "--size", defaultValue = "128", description = "image side (default ${DEFAULT-VALUE})")
        int size;

        @Option(names = "--out", description = "report folder (default eval/control-CONDITION)")
        Path out;

        @Option(names = "--local", description = "start a farm in this process (embedded Kafka and S3, coordinator, workers) for the run")
        boolean local;

        @Option(names = "--workers", defaultValue = "2", description = "workers of the --local farm (default ${DEFAULT-VALUE})")
        int workers;

        @Option(names = "--serve", split = ",", description = "bundle folders the --local farm's workers serve besides the shipped "
                + "models (a ControlNet's WORK/bundle, snapshots' bundles)")
        List<Path> serve = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            if (count < 1 || steps < 1 || scales.isEmpty() || models.isEmpty()) {
                throw new IllegalArgumentException("--count and --steps must be at least 1, --control-scales and --model must name one");
            }
            Path dir = out != null ? out : Path.of("eval", "control-" + condition);
            ControlEvaluation.Settings s = new ControlEvaluation.Settings(condition, models, controlnet, count, steps, guidance, scheduler, seed, size,
                    scales);
            FarmConfig config = options.load();
            onFarm(config, local, workers, serve, client -> ControlEvaluation.run(client, s, dir, System.out));
            System.out.println("report: " + dir.resolve("report.md"));
            return 0;
        }
    }
}
