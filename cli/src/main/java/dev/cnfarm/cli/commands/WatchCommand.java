package dev.cnfarm.cli.commands;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.cli.FarmCommand;
import dev.cnfarm.cli.OutputOptions;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.cli.client.JobWatcher;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code farm watch JOB}: a live progress bar until the job ends; exit code 1 if any image failed. */
@Command(name = "watch", mixinStandardHelpOptions = true,
        description = "Follow a job with a live progress bar until it ends. Exit code 0: all images done; 1: some failed.")
public final class WatchCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Parameters(index = "0", paramLabel = "JOB", description = "job id")
    String jobId;

    @Option(names = "--timeout", defaultValue = "24h", description = "give up after this long (e.g. 90s, 30m, 24h)")
    String timeout;

    @Mixin
    OutputOptions output;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        FarmClient client = FarmClient.of(options.load());
        client.job(jobId); // a clear 404 for a wrong id, before any progress bar is drawn
        JsonNode last = new JobWatcher(client, output.json() ? null : System.out).watch(jobId, parseDuration(timeout));
        if (output.json()) {
            OutputOptions.printJson(spec.commandLine().getOut(), last);
            return last.path("failed").asInt() == 0 && "succeeded".equals(last.path("state").asText()) ? FarmCommand.OK
                    : FarmCommand.JOB_FAILED;
        }
        return report(client, jobId, last);
    }

    /** Prints the outcome (and each failed image's reason) and returns the exit code. */
    static int report(FarmClient client, String jobId, JsonNode job) {
        System.out.printf("job %s %s: %d/%d images, %d failed%n", jobId, job.path("state").asText(),
                job.path("succeeded").asInt(), job.path("task_count").asInt(), job.path("failed").asInt());
        if (job.path("failed").asInt() == 0) {
            return FarmCommand.OK;
        }
        for (JsonNode t : client.job(jobId).path("tasks")) {
            if ("failed".equals(t.path("state").asText())) {
                System.out.printf("  image %d failed: %s%n", t.path("index").asInt(), t.path("error").asText());
            }
        }
        return FarmCommand.JOB_FAILED;
    }

    static Duration parseDuration(String s) {
        String t = s.trim().toLowerCase();
        try {
            if (t.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
            }
            long n = Long.parseLong(t.substring(0, t.length() - 1));
            return switch (t.charAt(t.length() - 1)) {
                case 's' -> Duration.ofSeconds(n);
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                default -> throw new IllegalArgumentException();
            };
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("--timeout '" + s + "' is not a duration; write it like 90s, 30m or 24h");
        }
    }
}
