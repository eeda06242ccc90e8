package dev.cnfarm.cli.commands.models;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code farm models}: build, describe and import model bundles. */
@Command(name = "models", mixinStandardHelpOptions = true,
        description = "Build, describe, import, export and merge models (SD1.5-architecture ONNX graphs).",
        subcommands = {BuildCommand.class, DescribeCommand.class, ImportCommand.class, ExportCommand.class, MergeCommand.class})
public final class ModelsCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
