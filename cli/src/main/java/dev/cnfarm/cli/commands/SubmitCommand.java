package dev.cnfarm.cli.commands;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.cli.FarmCommand;
import dev.cnfarm.cli.OutputOptions;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.cli.client.JobWatcher;
import dev.cnfarm.cli.client.ParallelUploader;
import dev.cnfarm.cli.jobs.JobFile;
import dev.cnfarm.cli.jobs.ManifestReader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code farm submit FILE}: a job file (YAML or JSON: a matrix, zipped lists, rows, or a
 * {@code manifest:} reference) or a manifest alone (CSV or JSONL, one image per row). Uploads the
 * local control images in parallel, posts the job, prints its id; {@code --watch} follows it.
 */
@Command(name = "submit", mixinStandardHelpOptions = true,
        description = "Submit a job file (YAML/JSON) or a manifest (CSV/JSONL, one image per row): uploads local control images, "
                + "posts the job, prints its id.")
public final class SubmitCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Mixin
    OutputOptions output;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "job file (.yaml/.json) or manifest (.csv/.jsonl)")
    Path file;

    @Option(names = "--dry-run", description = "validate and quote (task count, estimated GPU-seconds, images to upload) without creating the job")
    boolean dryRun;

    @Option(names = "--idempotency-key", paramLabel = "KEY", description = "submitting twice with one key creates one job")
    String idempotencyKey;

    @Option(names = "--watch", description = "follow the job until it ends")
    boolean watch;

    @Option(names = "--parallel", defaultValue = "8", description = "uploads at a time (default ${DEFAULT-VALUE})")
    int parallel;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        FarmClient client = FarmClient.of(options.load());
        JobFile job = ManifestReader.isManifest(file) ? JobFile.fromManifest(file) : JobFile.read(file);
        List<Path> images = job.localControlImages();
        String body;
        if (dryRun) {
            // nothing is uploaded for a quote: the files are only named by their content address
            body = job.resolve(p -> client.locate(p).path("key").asText());
        } else {
            if (!images.isEmpty() && !output.json()) {
                out.println("uploading " + images.size() + " control image(s)...");
                out.flush();
            }
            Map<Path, String> keys = new ParallelUploader(client, parallel).upload(images, !output.json());
            body = job.resolve(keys::get);
        }
        JsonNode answer = client.submit(body, idempotencyKey, dryRun);
        JsonNode quote = answer.path("quote");
        if (dryRun) {
            if (output.json()) {
                OutputOptions.printJson(out, answer);
            } else {
                out.printf("quote: %d images%s, about %.1f GPU-seconds; %d control image(s) to upload%n",
                        quote.path("task_count").asLong(), modeNote(quote), quote.path("estimated_gpu_seconds").asDouble(),
                        quote.path("control_images_to_upload").asInt());
                // what one worker of each device that has rendered the model would take
                quote.path("estimated_seconds_by_device").fields().forEachRemaining(d ->
                        out.printf("  on one %s worker: about %.1f s%n", d.getKey(), d.getValue().asDouble()));
            }
            return FarmCommand.OK;
        }
        String jobId = answer.path("job_id").asText();
        if (!output.json()) {
            out.printf("%s job %s: %d images%s, about %.1f GPU-seconds%n", answer.path("created").asBoolean() ? "submitted" : "already submitted as",
                    jobId, quote.path("task_count").asLong(), modeNote(quote), quote.path("estimated_gpu_seconds").asDouble());
            out.flush();
        }
        if (!watch) {
            if (output.json()) {
                OutputOptions.printJson(out, answer);
            }
            return FarmCommand.OK;
        }
        JsonNode last = new JobWatcher(client, output.json() ? null : System.out).watch(jobId, Duration.ofHours(24));
        if (output.json()) {
            ObjectNode both = answer.deepCopy();
            both.set("job", last);
            OutputOptions.printJson(out, both);
            return last.path("failed").asInt() == 0 ? FarmCommand.OK : FarmCommand.JOB_FAILED;
        }
        return WatchCommand.report(client, jobId, last);
    }

    /** " (text to image)" for a job without control images, nothing otherwise. */
    private static String modeNote(JsonNode quote) {
        return "text_to_image".equals(quote.path("mode").asText()) ? " (text to image)" : "";
    }
}
