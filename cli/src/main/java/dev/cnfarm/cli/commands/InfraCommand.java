package dev.cnfarm.cli.commands;

import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.embedded.LocalInfrastructure;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code farm infra}: only the embedded Kafka broker and S3 server, for running the other parts separately. */
@Command(name = "infra", mixinStandardHelpOptions = true,
        description = "Start the embedded Kafka broker and S3 server (with topics and bucket) for separate coordinator and worker processes.")
public final class InfraCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--kafka-port", defaultValue = "0", description = "Kafka port (0: a free one)")
    int kafkaPort;

    @Option(names = "--s3-port", defaultValue = "0", description = "S3 port (0: a free one)")
    int s3Port;

    @Option(names = "--write-config", paramLabel = "FILE",
            description = "write a config file pointing at this infrastructure, for `farm coordinator/worker --config FILE`")
    Path writeConfig;

    @Override
    public Integer call() throws Exception {
        FarmConfig config = options.load();
        Path dataDir = config.dataDir().resolve("infra");
        LocalInfrastructure infra = LocalInfrastructure.start(config, dataDir, kafkaPort, s3Port, Map.of());
        FarmConfig c = infra.config();
        if (writeConfig != null) {
            if (writeConfig.toAbsolutePath().getParent() != null) {
                Files.createDirectories(writeConfig.toAbsolutePath().getParent());
            }
            Files.writeString(writeConfig, """
                    # written by `farm infra`: the embedded broker and S3 server it started
                    kafka:
                      bootstrap-servers: %s
                    s3:
                      endpoint: %s
                      bucket: %s
                    """.formatted(c.kafka().bootstrapServers(), c.s3().endpoint(), c.s3().bucket()));
        }
        System.out.println("kafka.bootstrap-servers=" + c.kafka().bootstrapServers());
        System.out.println("s3.endpoint=" + c.s3().endpoint());
        System.out.println("farm infra ready (data in " + dataDir.toAbsolutePath() + "); stop with Ctrl-C");
        System.out.flush();
        UntilStopped.run(infra);
        return 0;
    }
}
