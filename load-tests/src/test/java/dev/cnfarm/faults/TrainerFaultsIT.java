package dev.cnfarm.faults;

import static dev.cnfarm.faults.FarmFaultsIT.args;
import static dev.cnfarm.faults.FarmFaultsIT.record;
import static dev.cnfarm.faults.FaultFixture.awaitJob;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.cli.trainer.ControlNetTrainingTasks;
import dev.cnfarm.cli.trainer.ModelPublisher;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.storage.Archives;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectNotFoundException;
import dev.cnfarm.coordinator.CoordinatorService;
import dev.cnfarm.loadtests.FarmProcess;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.proto.v1.WorkerState;
import dev.cnfarm.trainer.base.BaseTraining;
import dev.cnfarm.trainer.data.ShapesDataset;
import dev.cnfarm.worker.WorkerService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A trainer is a worker like any other under faults: a {@code farm trainer} process killed with
 * SIGKILL mid-run is replaced by another trainer, which resumes from the last complete checkpoint
 * in S3 (losing at most one interval) and continues the loss curve step for step; a cancelled
 * training job stops its trainer at the next step. Timings go to {@code target/fault-measurements.txt}.
 */
class TrainerFaultsIT {
    private static final int STEPS = 80;
    private static final int CHECKPOINT_EVERY = 10;

    @TempDir
    Path dir;

    @Test
    void aKilledTrainerIsReplacedAndTheRunGoesOnFromItsLastCheckpoint() throws Exception {
        Path base = BaseTraining.randomModel(dir.resolve("tiny"), ModelPreset.tiny(), 3);
        Path manifest = ShapesDataset.write(dir.resolve("data"), 12, 64, 5, ShapesDataset.Split.TRAIN, (d, t) -> { });
        try (FaultFixture f = new FaultFixture(dir, Map.of());
             CoordinatorService coordinator = CoordinatorService.start(f.config);
             KafkaProducer<String, byte[]> models = KafkaClients.producer(f.config.kafka(), "trainer-faults-models");
             FarmProcess victim = FarmProcess.start("trainer-victim", args(List.of("trainer", "--id", "trainer-victim"),
                     f.processFlags(Map.of(ConfigKeys.WORKER_MODELS, base.toString(), ConfigKeys.WORKER_PROGRESS_EVERY, "1"))))) {
            victim.awaitLine("ready", Duration.ofSeconds(120));
            FarmClient client = f.client(coordinator.url(f.config));
            String dataset = f.upload(Archives.zip(manifest.getParent()));
            String job = client.submit("""
                    {"name": "kill a trainer", "train_controlnet": {"name": "tiny-canny", "base": "tiny", "dataset": "%s",
                     "condition": "canny", "steps": %d, "batch": 2, "checkpoint_every": %d, "sample_every": 40, "validation": 1,
                     "learning_rate": 0.001, "warmup_steps": 1, "seed": 7}}
                    """.formatted(dataset, STEPS, CHECKPOINT_EVERY), null, false).get("job_id").asText();
            String checkpointKey = ObjectKeys.outputPrefix("default", job) + ControlNetTrainingTasks.CHECKPOINT;

            // kill it between checkpoints, once one is in S3: the steps after it are lost with the process
            int[] checkpointed = new int[1];
            JsonNode beforeKill = awaitJob(client, job, s -> {
                checkpointed[0] = checkpointStep(f, checkpointKey, dir.resolve("seen"));
                int step = s.at("/tasks/0/step").asInt();
                return checkpointed[0] >= CHECKPOINT_EVERY && step % CHECKPOINT_EVERY >= 3 && step < STEPS - CHECKPOINT_EVERY;
            }, Duration.ofMinutes(4));
            assertThat(beforeKill.at("/tasks/0/worker").asText()).isEqualTo("trainer-victim");
            victim.kill();
            int lastCheckpoint = checkpointStep(f, checkpointKey, dir.resolve("at-kill"));
            // the victim may have gone on a step or two between the look and the kill
            int reachedBeforeKill = Math.max(beforeKill.at("/tasks/0/step").asInt(), lastCheckpoint);
            long t0 = System.nanoTime();

            try (WorkerService survivor = WorkerService.start(f.config.with(ConfigKeys.WORKER_ID, "trainer-survivor")
                            .with(ConfigKeys.WORKER_POOL, "train").with(ConfigKeys.WORKER_PROGRESS_EVERY, "1"),
                    s -> new ControlNetTrainingTasks(s, dir.resolve("survivor"), List.of(base), m -> ModelPublisher.send(models, f.topics, m)))) {
                JsonNode resumed = awaitJob(client, job, s -> s.at("/tasks/0/worker").asText().equals("trainer-survivor")
                        && s.at("/tasks/0/step").asInt() > 0, Duration.ofMinutes(2));
                long takeoverMs = (System.nanoTime() - t0) / 1_000_000;
                JsonNode done = awaitJob(client, job, FaultFixture::ended, Duration.ofMinutes(4));
                assertThat(done.at("/job/state").asText()).as(done.toString()).isEqualTo("succeeded");
                assertThat(done.at("/tasks/0/worker").asText()).isEqualTo("trainer-survivor");
                assertThat(f.resultsPerTask(job)).containsExactly(Map.entry(0, 1L));
                f.assertOutputsIntact(done);

                // the survivor went on from the checkpoint the victim left: one loss per step, none twice, none missing
                JsonNode state = checkpointState(f, checkpointKey, dir.resolve("final"));
                JsonNode losses = state.get("losses");
                assertThat(losses).hasSize(STEPS);
                for (int i = 0; i < STEPS; i++) {
                    assertThat(losses.get(i).get(0).asInt()).as("loss entry %d", i).isEqualTo(i + 1);
                }
                int redone = reachedBeforeKill - lastCheckpoint;
                assertThat(redone).as("steps lost with the process: at most one checkpoint interval").isBetween(0, CHECKPOINT_EVERY);
                // the curve the dashboard draws runs on from the checkpoint, without the lost steps twice
                JsonNode curve = client.training(job, 0);
                JsonNode points = curve.get("loss");
                for (int i = 1; i < points.size(); i++) {
                    assertThat(points.get(i).get(0).asDouble()).isGreaterThan(points.get(i - 1).get(0).asDouble());
                }
                assertThat(curve.get("samples")).extracting(s -> s.get("step").asInt()).containsExactly(40, 80);
                record("trainer SIGKILL to its training task resumed on another trainer: " + takeoverMs + " ms (task lock "
                        + f.config.kafka().taskLockMs() + " ms); killed at step " + reachedBeforeKill + ", resumed from the checkpoint "
                        + "at step " + lastCheckpoint + " (" + redone + " steps redone, checkpoint every " + CHECKPOINT_EVERY + ")");
                assertThat(resumed.at("/tasks/0/attempt").asInt()).as("a redelivery, not a retry").isEqualTo(1);

                // a cancelled training job stops its trainer at the next step; nothing is published for it
                String second = client.submit("""
                        {"name": "cancel a training", "train_controlnet": {"name": "tiny-cancelled", "base": "tiny", "dataset": "%s",
                         "condition": "canny", "steps": 100000, "batch": 2, "checkpoint_every": 100000, "validation": 1, "samples": 0}}
                        """.formatted(dataset), null, false).get("job_id").asText();
                awaitJob(client, second, s -> s.at("/tasks/0/step").asInt() >= 3, Duration.ofMinutes(2));
                long c0 = System.nanoTime();
                client.cancel(second);
                JsonNode cancelled = awaitJob(client, second, FaultFixture::ended, Duration.ofSeconds(60));
                assertThat(cancelled.at("/job/state").asText()).isEqualTo("cancelled");
                Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> survivor.state() == WorkerState.WORKER_STATE_IDLE);
                record("training job cancel to its trainer idle: " + (System.nanoTime() - c0) / 1_000_000 + " ms");
                assertThat(client.workers().toString()).doesNotContain("tiny-cancelled");
            }
        }
    }

    /** The step of the checkpoint in S3, 0 when there is none yet. */
    private static int checkpointStep(FaultFixture f, String key, Path scratch) {
        try {
            return checkpointState(f, key, scratch).get("step").asInt();
        } catch (ObjectNotFoundException none) {
            return 0;
        }
    }

    private static JsonNode checkpointState(FaultFixture f, String key, Path scratch) {
        try {
            dev.cnfarm.common.storage.Archives.unzip(f.store.get(key), scratch);
            JsonNode state = Json.mapper().readTree(scratch.resolve("state.json").toFile());
            java.nio.file.Files.walk(scratch).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            return state;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
