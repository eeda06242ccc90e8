package dev.cnfarm.cli.commands;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.cli.client.FarmClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** What a user can do to a submitted job: {@code farm cancel|suspend|resume|priority JOB}. */
public final class JobActionCommands {
    private JobActionCommands() {}

    /** The shared part: load config, call the coordinator, print the job's new state. */
    abstract static class JobAction implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "JOB", description = "the job id (as `farm submit` printed it)")
        String jobId;

        abstract JsonNode act(FarmClient client);

        abstract String done();

        @Override
        public Integer call() {
            JsonNode answer = act(FarmClient.of(options.load()));
            JsonNode job = answer.path("job");
            spec.commandLine().getOut().printf("job %s %s (%s: %d/%d done, priority %d)%n", jobId, done(), job.path("state").asText(),
                    job.path("succeeded").asInt(), job.path("task_count").asInt(), job.path("priority").asInt());
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true,
            description = "Cancel a job: tasks not started are dropped at once, running ones stop at their next step.")
    public static final class Cancel extends JobAction {
        @Override
        JsonNode act(FarmClient client) {
            return client.cancel(jobId);
        }

        @Override
        String done() {
            return "cancelled";
        }
    }

    @Command(name = "suspend", mixinStandardHelpOptions = true,
            description = "Suspend a job: nothing more of it starts until `farm resume`; running tasks finish.")
    public static final class Suspend extends JobAction {
        @Override
        JsonNode act(FarmClient client) {
            return client.suspend(jobId);
        }

        @Override
        String done() {
            return "suspended";
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a suspended job.")
    public static final class Resume extends JobAction {
        @Override
        JsonNode act(FarmClient client) {
            return client.resume(jobId);
        }

        @Override
        String done() {
            return "resumed";
        }
    }

    @Command(name = "priority", mixinStandardHelpOptions = true,
            description = "Change a job's priority, -100 to 100 (higher goes first; default 0). Applies to tasks not yet started.")
    public static final class Priority extends JobAction {
        @Parameters(index = "1", paramLabel = "PRIORITY", description = "-100 (background) to 100 (urgent)")
        int priority;

        @Override
        JsonNode act(FarmClient client) {
            return client.setPriority(jobId, priority);
        }

        @Override
        String done() {
            return "priority set to " + priority;
        }
    }

}
