package dev.cnfarm.cli.commands;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.cli.client.JobWatcher;
import dev.cnfarm.cli.client.OutputDownloader;
import dev.cnfarm.cli.jobs.JobFile;
import dev.cnfarm.cli.local.LocalFarm;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import dev.cnfarm.cli.eval.ContactSheet;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code farm demo}: the main job end to end on this machine. Starts the local farm, submits the
 * sample job through the REST API (uploading its control images, if it has any), follows it with a
 * progress bar, downloads the images into the output folder with a contact sheet of them all, and
 * stops the farm.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start a local farm, render the sample job (the trained shapes model), download its images and a contact "
                + "sheet to ./out, stop.")
public final class DemoCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    static final Path DEFAULT_JOB = Path.of("samples/demo-job.yaml");
    static final Path CONTROLNET_JOB = Path.of("samples/controlnet-job.yaml");

    @Option(names = "--job", defaultValue = "samples/demo-job.yaml", description = "job file (default ${DEFAULT-VALUE})")
    Path jobFile;

    @Option(names = "--out", defaultValue = "out", description = "output folder (default ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--workers", defaultValue = "2", description = "CPU workers (default ${DEFAULT-VALUE})")
    int workers;

    @Option(names = "--verbose", description = "show the farm's own log lines")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        if (!verbose) {
            // per-task log lines would tear through the progress bar
            ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("dev.cnfarm")).setLevel(Level.WARN);
        }
        long t0 = System.nanoTime();
        if (jobFile.equals(DEFAULT_JOB) && !dev.cnfarm.models.bundle.TrainedModels.hasShapes()) {
            // a build without the trained model (trained/shapes not there): the ControlNet sample on the generated tiny model
            System.out.println("this build carries no trained shapes model; rendering " + CONTROLNET_JOB + " on the generated tiny model");
            jobFile = CONTROLNET_JOB;
        }
        JobFile job = JobFile.read(jobFile);
        job.localFiles(); // fail on a missing image before starting anything
        FarmConfig config = options.load().with(ConfigKeys.COORDINATOR_PORT, "0");
        Path dataDir = config.dataDir().resolve("demo");
        dev.cnfarm.common.storage.Folders.deleteRecursively(dataDir);

        System.out.println("starting a local farm (Kafka, S3, coordinator, " + workers + " CPU workers)...");
        int code;
        try (LocalFarm farm = LocalFarm.start(config, dataDir, workers, 0, 0)) {
            System.out.printf("farm ready in %.1f s at %s%n", farm.startMillis() / 1000.0, farm.apiUrl());
            FarmClient client = FarmClient.of(farm.config());
            long tSubmit = System.nanoTime();
            String body = job.resolve(client::upload);
            JsonNode answer = client.submit(body, null, false);
            String jobId = answer.path("job_id").asText();
            System.out.printf("submitted %s: %d images%n", jobId, answer.path("quote").path("task_count").asLong());
            JsonNode last = new JobWatcher(client, System.out).watch(jobId, Duration.ofMinutes(30));
            long tDone = System.nanoTime();
            code = WatchCommand.report(client, jobId, last);
            OutputDownloader.Summary s = new OutputDownloader(client, 4).download(jobId, out);
            Path sheet = out.resolve("contact-sheet.png");
            contactSheet(sheet, body, out);
            System.out.printf("%d images written to %s/ with %s (job %.1f s from submit to last image, %.1f s in all)%n",
                    s.downloaded() + s.skipped(), out, sheet.getFileName(), (tDone - tSubmit) / 1e9, (System.nanoTime() - t0) / 1e9);
        }
        return code;
    }

    /**
     * All of the job's images on one page, each labelled with its prompt and seed (a matrix job:
     * image i is prompt i / (images x seeds), control image (i / seeds) mod images, seed i mod seeds;
     * a job of rows: image i is row i).
     */
    static void contactSheet(Path png, String jobJson, Path imagesDir) throws IOException {
        JsonNode job = dev.cnfarm.common.json.Json.mapper().readTree(jobJson);
        JsonNode prompts = job.path("prompts");
        JsonNode seeds = job.path("seeds");
        int images = Math.max(1, job.path("control_images").size());
        List<ContactSheet.Cell> cells = new ArrayList<>();
        try (Stream<Path> files = Files.list(imagesDir)) {
            for (Path f : files.filter(x -> x.getFileName().toString().matches("\\d{6}\\.png")).sorted().toList()) {
                int i = Integer.parseInt(f.getFileName().toString().substring(0, 6));
                int nSeeds = Math.max(1, seeds.size());
                JsonNode row = job.path("rows").path(i);
                String prompt = row.isObject() ? row.path("prompt").asText("") : prompts.path(i / (images * nSeeds)).asText("");
                String seed = row.isObject() ? row.path("seed").asText("") : seeds.size() > 0 ? seeds.get(i % nSeeds).asText() : "";
                cells.add(new ContactSheet.Cell(ImageIO.read(f.toFile()), prompt, "seed " + seed, null));
            }
        }
        if (!cells.isEmpty()) {
            ContactSheet.write(png, job.path("name").asText("job") + ": " + cells.size() + " images, model " + job.path("model").asText(""),
                    cells, Math.max(1, Math.max(seeds.size(), 4)), 128);
        }
    }

}
