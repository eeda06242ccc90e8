package dev.cnfarm.cli.commands;

import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.worker.WorkerService;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code farm worker}: one render worker, against the configured Kafka and S3. */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Run a render worker: take tasks from Kafka, render, write images to S3. SIGTERM drains it.")
public final class WorkerCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--id", description = "worker id (setting worker.id; default host-pid)")
    String id;

    @Override
    public Integer call() {
        FarmConfig config = options.load();
        if (id != null) {
            config = config.with(ConfigKeys.WORKER_ID, id);
        }
        WorkerService worker = WorkerService.start(config);
        System.out.println("worker " + worker.workerId() + " ready");
        System.out.flush();
        UntilStopped.run(worker);
        return 0;
    }
}
