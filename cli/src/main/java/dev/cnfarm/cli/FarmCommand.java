package dev.cnfarm.cli;

import dev.cnfarm.cli.client.ApiException;
import dev.cnfarm.cli.commands.ConfigCommand;
import dev.cnfarm.cli.commands.CoordinatorCommand;
import dev.cnfarm.cli.commands.DemoCommand;
import dev.cnfarm.cli.commands.TrainerCommand;
import dev.cnfarm.cli.commands.JobsCommand;
import dev.cnfarm.cli.commands.StatusCommand;
import dev.cnfarm.cli.commands.JobActionCommands;
import dev.cnfarm.cli.commands.DownloadCommand;
import dev.cnfarm.cli.commands.InfraCommand;
import dev.cnfarm.cli.commands.SubmitCommand;
import dev.cnfarm.cli.commands.UpCommand;
import dev.cnfarm.cli.commands.WatchCommand;
import dev.cnfarm.cli.commands.WorkerCommand;
import dev.cnfarm.cli.commands.PreprocessCommand;
import dev.cnfarm.cli.commands.NoiseCommand;
import dev.cnfarm.cli.commands.SchedulersCommand;
import dev.cnfarm.cli.commands.WorkersCommand;
import dev.cnfarm.cli.commands.TokensCommand;
import dev.cnfarm.cli.commands.models.ModelsCommand;
import dev.cnfarm.cli.commands.eval.EvalCommand;
import dev.cnfarm.cli.commands.train.DatasetsCommand;
import dev.cnfarm.cli.commands.train.TrainCommand;
import dev.cnfarm.common.config.ConfigException;
import java.net.ConnectException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code farm}: the command line of the ControlNet render farm. */
@Command(name = "farm", mixinStandardHelpOptions = true, version = "farm 0.1.0",
        description = "ControlNet render farm: run the farm locally or in parts, submit bulk jobs, watch them, download images.",
        subcommands = {DemoCommand.class, UpCommand.class, InfraCommand.class, CoordinatorCommand.class, WorkerCommand.class, TrainerCommand.class,
                SubmitCommand.class, WatchCommand.class, JobsCommand.class, StatusCommand.class, DownloadCommand.class,
                JobActionCommands.Cancel.class, JobActionCommands.Suspend.class, JobActionCommands.Resume.class,
                JobActionCommands.Priority.class, WorkersCommand.class, TokensCommand.class, ModelsCommand.class, DatasetsCommand.class, TrainCommand.class, EvalCommand.class, SchedulersCommand.class, NoiseCommand.class, PreprocessCommand.class, ConfigCommand.class,
                CommandLine.HelpCommand.class})
public final class FarmCommand implements Runnable {
    /** Exit codes scripts can rely on. */
    public static final int OK = 0;
    public static final int JOB_FAILED = 1;
    public static final int USAGE = 2;
    public static final int UNREACHABLE = 3;
    public static final int REFUSED = 4;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new FarmCommand());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable root = e;
            while (root.getCause() != null && !(root instanceof ApiException) && !(root instanceof ConfigException)) {
                root = root.getCause();
            }
            if (root instanceof ApiException api) {
                cmd.getErr().println("farm: " + api.getMessage());
                return api.status() >= 500 ? UNREACHABLE : REFUSED;
            }
            if (root instanceof ConfigException || e instanceof ConfigException) {
                cmd.getErr().println("farm: " + (root instanceof ConfigException ? root : e).getMessage());
                return USAGE;
            }
            if (root instanceof ConnectException) {
                cmd.getErr().println("farm: cannot reach the coordinator: " + root.getMessage()
                        + " (is it running? set its URL with --api or FARM_API_URL)");
                return UNREACHABLE;
            }
            if (e instanceof IllegalArgumentException || e instanceof java.io.UncheckedIOException
                    || e instanceof dev.cnfarm.models.weights.SafetensorsException || e instanceof dev.cnfarm.models.bundle.BundleException
                    || e instanceof dev.cnfarm.worker.render.BadInputException) {
                cmd.getErr().println("farm: " + e.getMessage());
                return USAGE;
            }
            if (e instanceof IllegalStateException && System.getenv("FARM_DEBUG") == null) {
                // a part of the farm could not start or reach its peers; the message says which
                cmd.getErr().println("farm: " + e.getMessage() + " (set FARM_DEBUG=1 for the stack trace)");
                return UNREACHABLE;
            }
            cmd.getErr().println("farm: " + e);
            e.printStackTrace(cmd.getErr());
            return JOB_FAILED;
        });
        return cl;
    }

    public static void main(String[] args) {
        int code = commandLine().execute(args);
        System.exit(code);
    }
}
