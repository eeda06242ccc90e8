package dev.cnfarm.cli.commands;

import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.cli.local.LocalFarm;
import dev.cnfarm.common.config.FarmConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code farm up}: the whole farm in this process, until Ctrl-C. */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = "Start the whole farm in one process: embedded Kafka and S3, coordinator, CPU workers.")
public final class UpCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--workers", defaultValue = "1", description = "number of CPU workers (default ${DEFAULT-VALUE})")
    int workers;

    @Option(names = "--kafka-port", defaultValue = "0", description = "Kafka port (0: a free one)")
    int kafkaPort;

    @Option(names = "--s3-port", defaultValue = "0", description = "S3 port (0: a free one)")
    int s3Port;

    @Override
    public Integer call() {
        FarmConfig config = options.load();
        Path dataDir = config.dataDir().resolve("local");
        LocalFarm farm = LocalFarm.start(config, dataDir, workers, kafkaPort, s3Port);
        System.out.printf("farm is up in %.1f s%n", farm.startMillis() / 1000.0);
        System.out.println("  API:               " + farm.apiUrl() + "/api/v1/");
        System.out.println("  dashboard:         " + farm.dashboardLink());
        if (!farm.apiToken().isEmpty()) {
            System.out.println("  token:             " + farm.apiToken() + "  (tenant default, admin; made for this run)");
        }
        System.out.println("  kafka:             " + farm.config().kafka().bootstrapServers());
        System.out.println("  s3:                " + farm.config().s3().endpoint() + " (bucket " + farm.config().s3().bucket() + ")");
        System.out.println("  workers:           " + farm.workerCount() + " (CPU)");
        System.out.println("  data:              " + dataDir.toAbsolutePath());
        Path running = dev.cnfarm.cli.local.RunningFarmFile.in(dataDir);
        dev.cnfarm.cli.local.RunningFarmFile.write(running, farm.config());
        System.out.println("  settings:          " + running.toAbsolutePath() + " (other farm commands here find this farm by it)");
        System.out.println("submit with: ./farm submit JOB.yaml --watch    a token for someone: ./farm tokens create --tenant NAME"
                + "    stop with Ctrl-C");
        System.out.flush();
        try {
            UntilStopped.run(farm);
        } finally {
            dev.cnfarm.cli.local.RunningFarmFile.delete(running);
        }
        return 0;
    }
}
