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
import picocli.CommandLine.Spec;

/** {@code farm jobs}: the tenant's jobs, newest first. */
@Command(name = "jobs", mixinStandardHelpOptions = true, description = "List jobs, newest first: state, progress, images done, priority.")
public final class JobsCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Mixin
    OutputOptions output;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        JsonNode answer = FarmClient.of(options.load()).jobs();
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            OutputOptions.printJson(out, answer);
            return FarmCommand.OK;
        }
        out.printf("%-26s %-20s %-10s %6s %13s %7s %8s %s%n", "JOB", "NAME", "STATE", "DONE", "IMAGES", "FAILED", "PRIORITY", "ETA");
        for (JsonNode j : answer.path("jobs")) {
            long eta = j.path("eta_seconds").asLong(-1);
            out.printf("%-26s %-20s %-10s %5.1f%% %13s %7d %8d %s%n", j.path("job_id").asText(), clip(j.path("name").asText(), 20),
                    j.path("state").asText(), 100 * j.path("progress").asDouble(),
                    j.path("succeeded").asInt() + "/" + j.path("task_count").asInt(), j.path("failed").asInt(),
                    j.path("priority").asInt(), eta > 0 && j.path("state").asText().equals("running") ? eta + " s" : "");
        }
        out.flush();
        return FarmCommand.OK;
    }

    private static String clip(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "\u2026";
    }
}
