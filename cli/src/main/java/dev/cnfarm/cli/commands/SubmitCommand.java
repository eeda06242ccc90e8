package dev.cnfarm.cli.commands;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.cli.FarmCommand;
import dev.cnfarm.cli.OutputOptions;
import dev.cnfarm.cli.client.A1111Parameters;
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

    @Parameters(index = "0", arity = "0..1", paramLabel = "FILE", description = "job file (.yaml/.json) or manifest (.csv/.jsonl)")
    Path file;

    @Option(names = "--from-png", arity = "1..*", paramLabel = "PNG", description = "instead of FILE: PNGs from A1111 (or this farm), one job "
            + "each from their parameters (prompt, negative prompt, steps, sampler, CFG scale, seed, size, model, ControlNet units, RNG); "
            + "settings the farm does not apply are listed")
    List<Path> fromPng;

    @Option(names = "--control-image", paramLabel = "IMAGE", description = "with --from-png: the control image of each ControlNet unit, in "
            + "order (PNGs do not carry them)")
    List<Path> controlImages = new java.util.ArrayList<>();

    @Option(names = "--model", description = "with --from-png: the farm's model to render with, instead of the PNG's Model")
    String model;

    @Option(names = "--print", description = "with --from-png: print the jobs as JSON instead of submitting them")
    boolean print;

    @Option(names = "--lora-dir", paramLabel = "DIR", description = "with --from-png: the folder of the LoRA files the prompts' "
            + "<lora:NAME:WEIGHT> tags name (NAME.safetensors), as A1111's models/Lora folder")
    Path loraDir;

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
        if ((file == null) == (fromPng == null)) {
            throw new IllegalArgumentException("give a job file (FILE) or --from-png PNG..., one of the two");
        }
        if (fromPng != null) {
            return fromPngs(out);
        }
        FarmClient client = FarmClient.of(options.load());
        JobFile job = ManifestReader.isManifest(file) ? JobFile.fromManifest(file) : JobFile.read(file);
        List<Path> images = job.localFiles();
        String body;
        if (dryRun) {
            // nothing is uploaded for a quote: the files are only named by their content address
            body = job.resolve(p -> client.locate(p).path("key").asText());
        } else {
            if (!images.isEmpty() && !output.json()) {
                out.println("uploading " + images.size() + " file(s)...");
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
                // a staged job: each stage's tasks and time
                quote.path("stages").forEach(st -> out.printf("  stage %s: %d tasks, about %.1f GPU-seconds%n", st.path("name").asText(),
                        st.path("task_count").asLong(), st.path("estimated_gpu_seconds").asDouble()));
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

    /** One job per PNG, from its parameters: printed with --print, else submitted (their control images uploaded first). */
    private int fromPngs(PrintWriter out) throws Exception {
        java.util.List<A1111Parameters> parsed = new java.util.ArrayList<>();
        for (Path png : fromPng) {
            String text;
            try {
                text = dev.cnfarm.worker.output.PngText.read(java.nio.file.Files.readAllBytes(png), "parameters");
            } catch (java.io.UncheckedIOException | java.io.IOException e) {
                throw new IllegalArgumentException("--from-png " + png + ": " + e.getMessage(), e);
            }
            try {
                parsed.add(A1111Parameters.parse(text));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--from-png " + png + ": " + e.getMessage(), e);
            }
        }
        FarmClient client = print ? null : FarmClient.of(options.load());
        java.util.List<String> keys = new java.util.ArrayList<>();
        for (Path c : controlImages) {
            keys.add(print ? c.toString() : client.upload(c));
        }
        Map<Path, String> loraKeys = new java.util.HashMap<>();
        for (int i = 0; i < parsed.size(); i++) {
            A1111Parameters a = parsed.get(i);
            ObjectNode job;
            try {
                job = a.jobWith(keys, model);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--from-png " + fromPng.get(i) + ": " + e.getMessage(), e);
            }
            job.put("name", "from " + fromPng.get(i).getFileName());
            if (!a.loras().isEmpty()) {
                ArrayNode loras = job.putArray("loras");
                for (A1111Parameters.LoraTag tag : a.loras()) {
                    Path file = loraFile(fromPng.get(i), tag);
                    loras.addObject().put("name", tag.name()).put("weight", tag.weight())
                            .put("file", print ? file.toString() : loraKeys.computeIfAbsent(file, client::upload));
                }
            }
            if (!a.notApplied().isEmpty() && !output.json()) {
                spec.commandLine().getErr().println(fromPng.get(i).getFileName() + ": not applied: " + String.join("; ", a.notApplied()));
            }
            if (print) {
                out.println(job.toPrettyString());
                continue;
            }
            JsonNode answer = client.submit(job.toString(), idempotencyKey == null ? null : idempotencyKey + "-" + i, dryRun);
            out.printf("%s %s: job %s%n", dryRun ? "quoted" : "submitted", fromPng.get(i).getFileName(), answer.path("job_id").asText("(dry run)"));
        }
        out.flush();
        return FarmCommand.OK;
    }

    /** The file of a prompt's LoRA tag: NAME.safetensors in --lora-dir; refused by name when there is none. */
    private Path loraFile(Path png, A1111Parameters.LoraTag tag) {
        if (loraDir == null) {
            throw new IllegalArgumentException("--from-png " + png + ": its prompt names LoRA '" + tag.name() + "' (<lora:" + tag.name() + ":"
                    + tag.weight() + ">); give --lora-dir DIR, the folder holding " + tag.name() + ".safetensors");
        }
        Path file = loraDir.resolve(tag.name() + ".safetensors");
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--from-png " + png + ": its prompt names LoRA '" + tag.name() + "', but " + file
                    + " does not exist; put the file there or give the folder that holds it with --lora-dir");
        }
        return file;
    }

    /** " (text to image)" for a job without control images, nothing otherwise. */
    private static String modeNote(JsonNode quote) {
        return "text_to_image".equals(quote.path("mode").asText()) ? " (text to image)" : "";
    }
}
