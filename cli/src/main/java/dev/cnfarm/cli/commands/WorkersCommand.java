package dev.cnfarm.cli.commands;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.cli.client.FarmClient;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code farm workers}: the farm's workers as their last heartbeats describe them. */
@Command(name = "workers", mixinStandardHelpOptions = true,
        description = "List the workers: state, health, execution provider, loaded models, current task, images/s.")
public final class WorkersCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        JsonNode workers = FarmClient.of(options.load()).workers().path("workers");
        PrintWriter out = spec.commandLine().getOut();
        out.printf("%-24s %-9s %-7s %-5s %-12s %8s %8s  %s%n", "WORKER", "STATE", "HEALTHY", "EP", "MODELS", "DONE", "IMG/S", "TASK");
        for (JsonNode w : workers) {
            StringBuilder models = new StringBuilder();
            w.path("loaded_models").forEach(m -> models.append(models.length() == 0 ? "" : ",").append(m.asText()));
            out.printf("%-24s %-9s %-7s %-5s %-12s %8d %8.2f  %s%n", w.path("worker_id").asText(), w.path("state").asText(),
                    w.path("healthy").asBoolean() ? "yes" : "no", w.path("execution_provider").asText(), models,
                    w.path("tasks_succeeded").asLong(), w.path("images_per_second").asDouble(), w.path("current_task_id").asText());
            if (!w.path("health").asText().isEmpty()) {
                out.printf("%-24s ! %s%n", "", w.path("health").asText());
            }
        }
        out.flush();
        return 0;
    }
}
