package dev.cnfarm.cli.commands;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.cli.FarmCommand;
import dev.cnfarm.cli.OutputOptions;
import dev.cnfarm.cli.client.FarmClient;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code farm status JOB}: one job's state and counts, and why its failed images failed. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show one job: state, counts, rate, ETA, and each failed image's reason. --output json prints every task.")
public final class StatusCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Mixin
    OutputOptions output;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "JOB", description = "job id")
    String jobId;

    @Override
    public Integer call() {
        JsonNode snapshot = FarmClient.of(options.load()).job(jobId);
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            OutputOptions.printJson(out, snapshot);
            return FarmCommand.OK;
        }
        JsonNode j = snapshot.path("job");
        out.printf("job %s (%s): %s, priority %d%n", j.path("job_id").asText(), j.path("name").asText(), j.path("state").asText(),
                j.path("priority").asInt());
        out.printf("  %d/%d images done, %d rendering, %d queued, %d failed, %d cancelled; %.1f%% of all steps%n",
                j.path("succeeded").asInt(), j.path("task_count").asInt(), j.path("running").asInt(), j.path("queued").asInt(),
                j.path("failed").asInt(), j.path("cancelled").asInt(), 100 * j.path("progress").asDouble());
        if (j.path("images_per_second").asDouble() > 0) {
            long eta = j.path("eta_seconds").asLong(-1);
            out.printf("  %.2f images/s%s%n", j.path("images_per_second").asDouble(), eta > 0 ? ", ETA " + eta + " s" : "");
        }
        int shown = 0;
        for (JsonNode t : snapshot.path("tasks")) {
            if ("failed".equals(t.path("state").asText()) && shown++ < 20) {
                out.printf("  image %d failed: %s%n", t.path("index").asInt(), t.path("error").asText());
            }
        }
        if (shown > 20) {
            out.printf("  and %d more failed (farm status %s -o json lists all)%n", shown - 20, jobId);
        }
        out.flush();
        return FarmCommand.OK;
    }
}
