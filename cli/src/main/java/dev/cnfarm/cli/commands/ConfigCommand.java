package dev.cnfarm.cli.commands;

import dev.cnfarm.cli.ConfigOptions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code farm config}: every setting, its value, where it came from, and its environment variable. */
@Command(name = "config", mixinStandardHelpOptions = true,
        description = "Print the effective configuration: each key, value, source and environment variable (secrets masked).")
public final class ConfigCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() {
        options.load().describe().forEach(System.out::println);
        return 0;
    }
}
