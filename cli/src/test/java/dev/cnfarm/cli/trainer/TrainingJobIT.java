package dev.cnfarm.cli.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.storage.Archives;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.coordinator.CoordinatorService;
import dev.cnfarm.coordinator.auth.Role;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.weights.SafetensorsFile;
import dev.cnfarm.trainer.base.BaseTraining;
import dev.cnfarm.trainer.data.ShapesDataset;
import dev.cnfarm.worker.WorkerService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A ControlNet training job through the embedded farm end to end: the data set uploaded as one
 * archive, the job submitted to the coordinator, taken by a trainer of the train pool, trained on
 * libtorch (tiny base, a few steps) with its checkpoints kept in S3; the first trainer is stopped
 * mid-run and gives the task back, a second one with an empty work folder resumes from the
 * checkpoint in S3, and the ControlNet is published as the job's output; a render worker that was
 * running before the model existed then serves it and renders a job on it.
 */
class TrainingJobIT {
    @TempDir
    Path dir;

    @Test
    void aTrainingJobIsTrainedCheckpointedResumedByAnotherTrainerAndPublished() throws Exception {
        Path base = BaseTraining.randomModel(dir.resolve("tiny"), ModelPreset.tiny(), 3);
        Path manifest = ShapesDataset.write(dir.resolve("data"), 12, 64, 5, ShapesDataset.Split.TRAIN, (d, t) -> { });
        byte[] archive = Archives.zip(manifest.getParent());
        try (FarmTestInfra infra = FarmTestInfra.embedded(dir.resolve("farm"))) {
            FarmConfig config = infra.config().with(ConfigKeys.COORDINATOR_PORT, "0");
            FarmConfig trainerConfig = config.with(ConfigKeys.WORKER_POOL, "train").with(ConfigKeys.WORKER_MODELS, base.toString())
                    .with(ConfigKeys.WORKER_DRAIN_TIMEOUT_MS, "0").with(ConfigKeys.WORKER_PROGRESS_EVERY, "1");
            dev.cnfarm.common.kafka.Topics topics = new dev.cnfarm.common.kafka.Topics(config.kafka().topicPrefix());
            try (ObjectStore store = new MinioObjectStore(config.s3());
                 CoordinatorService coordinator = CoordinatorService.start(config);
                 org.apache.kafka.clients.producer.KafkaProducer<String, byte[]> producer =
                         dev.cnfarm.common.kafka.KafkaClients.producer(config.kafka(), "test-trainer-models")) {
                java.util.function.Consumer<dev.cnfarm.proto.v1.PublishedModel> publish = m -> ModelPublisher.send(producer, topics, m);
                store.ensureBucket();
                String dataset = store.put(ObjectKeys.upload("default", Sha256.of(archive)), archive, "application/zip").key();
                FarmClient client = new FarmClient(coordinator.url(config), coordinator.issueToken("default", Role.TENANT, "training"));

                WorkerService first = WorkerService.start(trainerConfig.with(ConfigKeys.WORKER_ID, "trainer-1"),
                        s -> new ControlNetTrainingTasks(s, dir.resolve("work-1"), List.of(base), publish));
                String jobId;
                try {
                    Awaitility.await().atMost(Duration.ofSeconds(30))
                            .until(() -> client.workers().toString().contains("trainer-1"));
                    JsonNode bad = submitQuietly(client, """
                            {"train_controlnet": {"name": "tiny-canny", "base": "tiny", "dataset": "%s", "steps": 0, "colour": 1}}
                            """.formatted(dataset));
                    assertThat(bad.toString()).contains("train_controlnet.condition", "train_controlnet.steps", "train_controlnet.colour");

                    jobId = client.submit("""
                            {"name": "train tiny canny", "train_controlnet": {"name": "tiny-canny", "base": "tiny", "dataset": "%s",
                             "condition": "canny", "steps": 60, "batch": 2, "checkpoint_every": 1000, "validation": 1,
                             "learning_rate": 0.001, "warmup_steps": 1, "seed": 7}}
                            """.formatted(dataset), null, false).get("job_id").asText();
                    // each step's loss and learning rate reach the job's view as the task's progress
                    JsonNode running = Awaitility.await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(100))
                            .until(() -> client.job(jobId), s -> s.at("/tasks/0/loss").asDouble() > 0 && s.at("/tasks/0/step").asInt() >= 3);
                    assertThat(running.at("/tasks/0/learning_rate").asDouble()).isGreaterThan(0);
                    assertThat(running.at("/tasks/0/total_steps").asInt()).isEqualTo(60);
                    assertThat(running.at("/tasks/0/steps_per_second").asDouble()).isGreaterThan(0);
                    assertThat(running.at("/job/mode").asText()).isEqualTo("train_controlnet");
                    assertThat(client.training(jobId, 0).get("loss").size()).as("the curve the dashboard draws").isGreaterThanOrEqualTo(1);
                } finally {
                    first.close(); // drains: the run stops at its next step and the task goes back to the queue
                }
                JsonNode afterFirst = client.job(jobId);
                assertThat(afterFirst.at("/job/state").asText()).as("not finished by the first trainer").isNotEqualTo("succeeded");
                // no checkpoint was due (checkpoint_every 1000): the drained trainer checkpointed the step it stopped at
                String checkpoint = ObjectKeys.outputPrefix("default", jobId) + ControlNetTrainingTasks.CHECKPOINT;
                Path drained = dir.resolve("drained-checkpoint");
                Archives.unzip(store.get(checkpoint), drained);
                int stoppedAt = Json.mapper().readTree(drained.resolve("state.json").toFile()).get("step").asInt();
                assertThat(stoppedAt).isBetween(3, 59);

                // a render worker that runs before the model exists
                try (WorkerService renderer = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "renderer")
                        .with(ConfigKeys.WORKER_MODEL_DIR, dir.resolve("render-models").toString()));
                     WorkerService second = WorkerService.start(trainerConfig.with(ConfigKeys.WORKER_ID, "trainer-2"),
                             s -> new ControlNetTrainingTasks(s, dir.resolve("work-2"), List.of(base), publish))) {
                    Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> client.workers().toString().contains("renderer"));
                    assertThat(client.workers().toString()).as("not published yet").doesNotContain("tiny-canny");
                    JsonNode done = Awaitility.await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(500))
                            .until(() -> client.job(jobId), s -> List.of("succeeded", "failed", "cancelled").contains(s.at("/job/state").asText()));
                    assertThat(done.at("/job/state").asText()).as(done.toString()).isEqualTo("succeeded");
                    assertThat(done.at("/tasks/0/worker").asText()).isEqualTo("trainer-2");
                    String output = done.at("/tasks/0/output_key").asText();
                    assertThat(output).endsWith("/tiny-canny.safetensors");
                    Path cn = dir.resolve("tiny-canny.safetensors");
                    Files.write(cn, store.get(output));
                    assertThat(Sha256.of(Files.readAllBytes(cn))).isEqualTo(done.at("/tasks/0/output_sha256").asText());
                    try (SafetensorsFile f = SafetensorsFile.open(cn)) {
                        assertThat(f.tensors()).containsKeys("controlnet_mid_block.weight", "controlnet_cond_embedding.conv_in.weight");
                        assertThat(f.metadata()).containsEntry("condition", "canny");
                    }
                    JsonNode summary = Json.mapper().readTree(store.get(ObjectKeys.outputPrefix("default", jobId) + "summary.json"));
                    assertThat(summary.get("steps").asInt()).isEqualTo(60);
                    assertThat(summary.get("skipped_rows").asInt()).isZero();
                    assertThat(Files.exists(dir.resolve("work-2").resolve(jobId))).as("the second trainer's own work folder").isTrue();
                    // the checkpoint in S3 carries the whole loss history: the second trainer went on from the first's
                    Path last = dir.resolve("last-checkpoint");
                    Archives.unzip(store.get(ObjectKeys.outputPrefix("default", jobId) + ControlNetTrainingTasks.CHECKPOINT), last);
                    JsonNode state = Json.mapper().readTree(last.resolve("state.json").toFile());
                    assertThat(state.get("step").asInt()).isEqualTo(60);
                    assertThat(state.get("losses")).as("one loss per step, across both trainers").hasSize(60);

                    // the sample grid of the last step: stored among the outputs, scored, named in the task and the curve
                    String grid = ObjectKeys.outputPrefix("default", jobId) + "samples/samples-step-000060.png";
                    java.awt.image.BufferedImage sheet = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(store.get(grid)));
                    assertThat(sheet.getWidth()).as("control | sample | image").isGreaterThan(3 * 64);
                    assertThat(done.at("/tasks/0/sample_key").asText()).isEqualTo(grid);
                    assertThat(done.at("/tasks/0/edge_f1").asDouble()).isBetween(0.0, 1.0);
                    JsonNode curve = client.training(jobId, 0);
                    assertThat(curve.at("/samples/0/step").asInt()).isEqualTo(60);
                    assertThat(curve.at("/samples/0/key").asText()).isEqualTo(grid);
                    assertThat(curve.get("loss").get(curve.get("loss").size() - 1).get(0).asInt()).isEqualTo(60);
                    assertThat(summary.get("samples")).hasSize(1);
                    assertThat(store.get(ObjectKeys.outputPrefix("default", jobId) + "fidelity-controlnet.png")).isNotEmpty();

                    // what the farm trained, the farm renders: the render worker, running since before, serves it by itself
                    Awaitility.await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
                            .until(() -> client.workers().toString().contains("tiny-canny"));
                    byte[] map = Files.readAllBytes(manifest.getParent().resolve("canny/000000.png"));
                    String control = store.put(ObjectKeys.upload("default", Sha256.of(map)), map, "image/png").key();
                    String render = client.submit("""
                            {"prompts": ["a red circle on a blue background"], "control_images": ["%s"], "model": "tiny-canny",
                             "preprocessor": "passthrough", "steps": 2, "width": 64, "height": 64}
                            """.formatted(control), null, false).get("job_id").asText();
                    JsonNode rendered = Awaitility.await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
                            .until(() -> client.job(render), s -> List.of("succeeded", "failed").contains(s.at("/job/state").asText()));
                    assertThat(rendered.at("/job/state").asText()).as(rendered.toString()).isEqualTo("succeeded");
                    assertThat(rendered.at("/tasks/0/worker").asText()).isEqualTo("renderer");
                }
            }
        }
    }

    /** A submit expected to fail: the error body. */
    private static JsonNode submitQuietly(FarmClient client, String json) {
        try {
            return client.submit(json, null, false);
        } catch (RuntimeException e) {
            return Json.mapper().createObjectNode().put("error", e.getMessage());
        }
    }
}
