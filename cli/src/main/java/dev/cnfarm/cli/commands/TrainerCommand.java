package dev.cnfarm.cli.commands;

import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.cli.trainer.ControlNetTrainingTasks;
import dev.cnfarm.cli.trainer.ModelPublisher;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.coordinator.api.JobValidator;
import dev.cnfarm.worker.WorkerService;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code farm trainer}: a worker of the train pool that runs ControlNet training jobs. */
@Command(name = "trainer", mixinStandardHelpOptions = true,
        description = {"Run a trainer: take ControlNet training jobs from the train pool (worker.pool, default train), train on "
                + "libtorch, keep each checkpoint in S3 and publish the ControlNet as the job's output. A trainer killed mid-run is "
                + "replaced by the next one, which resumes from the last checkpoint. SIGTERM drains it.",
                "The base models it trains on are the trained model folders named by worker.models "
                        + "(e.g. --set worker.models=trained/shapes)."})
public final class TrainerCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--id", description = "trainer id (setting worker.id; default host-pid)")
    String id;

    @Override
    public Integer call() {
        FarmConfig config = options.load();
        if (id != null) {
            config = config.with(ConfigKeys.WORKER_ID, id);
        }
        if (config.sourceOf(ConfigKeys.WORKER_POOL) == dev.cnfarm.common.config.ConfigSource.DEFAULT) {
            config = config.with(ConfigKeys.WORKER_POOL, JobValidator.TRAIN_POOL);
        }
        FarmConfig c = config;
        dev.cnfarm.common.kafka.Topics topics = new dev.cnfarm.common.kafka.Topics(c.kafka().topicPrefix());
        org.apache.kafka.clients.producer.KafkaProducer<String, byte[]> models =
                dev.cnfarm.common.kafka.KafkaClients.producer(c.kafka(), "trainer-models-" + c.worker().workerId());
        WorkerService trainer = WorkerService.start(c, store -> new ControlNetTrainingTasks(store,
                c.dataDir().resolve("trainer").resolve(c.worker().workerId()), c.worker().extraModels(),
                m -> ModelPublisher.send(models, topics, m)));
        System.out.println("trainer " + trainer.workerId() + " ready");
        System.out.flush();
        UntilStopped.run(trainer);
        return 0;
    }
}
