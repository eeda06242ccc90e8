package dev.cnfarm.cli.commands;

import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.worker.WorkerService;
import dev.cnfarm.worker.render.RendererRegistry;
import dev.cnfarm.worker.render.SimulatedRenderer;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

/** {@code farm worker}: one render worker, against the configured Kafka and S3. */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Run a render worker: take tasks from Kafka, render, write images to S3. SIGTERM drains it.")
public final class WorkerCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Spec
    CommandSpec spec;

    @Option(names = "--id", description = "worker id (setting worker.id; default host-pid)")
    String id;

    @Option(names = "--simulated-gpu-ms", paramLabel = "MS",
            description = "load no models: serve only the simulated model (model id '" + SimulatedRenderer.MODEL_ID
                    + "'), each step taking MS milliseconds; for load and fault tests of a farm's plumbing")
    Long simulatedGpuMs;

    @Override
    public Integer call() {
        if (simulatedGpuMs != null && simulatedGpuMs < 0) {
            throw new ParameterException(spec.commandLine(),
                    "--simulated-gpu-ms must be 0 or more milliseconds per step, got " + simulatedGpuMs);
        }
        FarmConfig config = options.load();
        if (id != null) {
            config = config.with(ConfigKeys.WORKER_ID, id);
        }
        WorkerService worker = simulatedGpuMs == null ? WorkerService.start(config)
                : WorkerService.start(config, RendererRegistry.simulated(simulatedGpuMs));
        System.out.println("worker " + worker.workerId() + " ready");
        System.out.flush();
        UntilStopped.run(worker);
        return 0;
    }
}
