package dev.cnfarm.cli.commands;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.cli.FarmCommand;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.cli.client.JobWatcher;
import dev.cnfarm.cli.jobs.JobFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code farm submit FILE}: upload the job's local control images, post the job, optionally watch it. */
@Command(name = "submit", mixinStandardHelpOptions = true,
        description = "Submit a job file (YAML or JSON): uploads local control images, posts the job, prints its id.")
public final class SubmitCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Parameters(index = "0", paramLabel = "FILE", description = "job file")
    Path file;

    @Option(names = "--dry-run", description = "validate and quote (task count, estimated GPU-seconds) without creating the job")
    boolean dryRun;

    @Option(names = "--idempotency-key", paramLabel = "KEY", description = "submitting twice with one key creates one job")
    String idempotencyKey;

    @Option(names = "--watch", description = "follow the job until it ends")
    boolean watch;

    @Override
    public Integer call() throws Exception {
        FarmClient client = new FarmClient(options.load().apiUrl());
        JobFile job = JobFile.read(file);
        List<Path> images = job.localControlImages();
        String body;
        if (dryRun) {
            // nothing is uploaded for a quote: the files are only named by their content address
            body = job.resolve(p -> client.locate(p).path("key").asText());
        } else {
            if (!images.isEmpty()) {
                System.out.println("uploading " + images.size() + " control image(s)...");
            }
            body = job.resolve(client::upload);
        }
        JsonNode answer = client.submit(body, idempotencyKey, dryRun);
        JsonNode quote = answer.path("quote");
        if (dryRun) {
            System.out.printf("quote: %d images, about %.1f GPU-seconds; %d control image(s) to upload%n",
                    quote.path("task_count").asLong(), quote.path("estimated_gpu_seconds").asDouble(),
                    quote.path("control_images_to_upload").asInt());
            return FarmCommand.OK;
        }
        String jobId = answer.path("job_id").asText();
        System.out.printf("%s job %s: %d images, about %.1f GPU-seconds%n", answer.path("created").asBoolean() ? "submitted" : "already submitted as",
                jobId, quote.path("task_count").asLong(), quote.path("estimated_gpu_seconds").asDouble());
        if (!watch) {
            return FarmCommand.OK;
        }
        JsonNode last = new JobWatcher(client, System.out).watch(jobId, Duration.ofHours(24));
        return WatchCommand.report(client, jobId, last);
    }
}
