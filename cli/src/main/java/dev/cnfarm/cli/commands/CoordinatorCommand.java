package dev.cnfarm.cli.commands;

import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.coordinator.CoordinatorService;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code farm coordinator}: the coordinator alone, against the configured Kafka and S3. */
@Command(name = "coordinator", mixinStandardHelpOptions = true,
        description = "Run the coordinator (REST API, websockets, job state) against the configured Kafka and S3.")
public final class CoordinatorCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() {
        FarmConfig config = options.load();
        CoordinatorService coordinator = CoordinatorService.start(config);
        System.out.println("coordinator ready at " + coordinator.url(config));
        System.out.flush();
        UntilStopped.run(coordinator);
        return 0;
    }
}
