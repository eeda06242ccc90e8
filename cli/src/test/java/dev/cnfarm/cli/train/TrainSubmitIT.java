package dev.cnfarm.cli.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.FarmCommand;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.cli.local.LocalFarm;
import dev.cnfarm.cli.trainer.ControlNetTrainingTasks;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.trainer.base.BaseTraining;
import dev.cnfarm.trainer.data.ShapesDataset;
import dev.cnfarm.worker.WorkerService;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code farm train controlnet JOB --submit --upload-files} against a local farm: every file of the
 * data set goes up content-addressed, the job's data set is a manifest of those keys, and a trainer
 * starts training on it (the job is then cancelled: TrainingJobIT runs one to the end).
 */
class TrainSubmitIT {
    @TempDir
    Path dir;

    @Test
    void aDataSetUploadedFileByFileIsTrainedOn() throws Exception {
        Path base = BaseTraining.randomModel(dir.resolve("tiny"), ModelPreset.tiny(), 3);
        Path manifest = ShapesDataset.write(dir.resolve("data"), 6, 64, 5, ShapesDataset.Split.TRAIN, (d, t) -> { });
        try (LocalFarm farm = LocalFarm.start(FarmTestInfra.testConfig(Map.of("coordinator.port", "0")), dir.resolve("farm"), 0, 0, 0);
             WorkerService trainer = WorkerService.start(farm.config().with(ConfigKeys.WORKER_ID, "trainer").with(ConfigKeys.WORKER_POOL, "train")
                     .with(ConfigKeys.WORKER_MODELS, base.toString()), s -> new ControlNetTrainingTasks(s, dir.resolve("work"), List.of(base),
                     m -> { }));
             ObjectStore store = new MinioObjectStore(farm.config().s3())) {
            FarmClient client = FarmClient.of(farm.config());
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> client.workers().toString().contains("\"trainer\""));
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            CommandLine cl = FarmCommand.commandLine();
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(err, true));
            java.io.ByteArrayOutputStream stdout = new java.io.ByteArrayOutputStream();
            java.io.PrintStream saved = System.out;
            int code;
            System.setOut(new java.io.PrintStream(stdout, true, StandardCharsets.UTF_8));
            try {
                code = cl.execute("train", "controlnet", "--submit", "--upload-files", "--data", manifest.toString(), "--base", base.toString(),
                        "--condition", "canny", "--name", "tiny-files", "--steps", "1000", "--batch", "2", "--validation", "1",
                        "--set", "api.url=" + farm.apiUrl(), "--set", "api.token=" + farm.apiToken());
            } finally {
                System.setOut(saved);
            }
            String printed = stdout.toString(StandardCharsets.UTF_8);
            assertThat(code).as(printed + err).isZero();
            assertThat(printed).contains("uploading 18 data set files").contains("submitted training job");
            String jobId = printed.replaceAll("(?s).*submitted training job (job-[0-9a-f]+).*", "$1");

            // the job's data set is a manifest naming the uploads, which the trainer fetched and trains on
            JsonNode running = Awaitility.await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
                    .until(() -> client.job(jobId), s -> s.at("/tasks/0/step").asInt() >= 2);
            assertThat(running.at("/tasks/0/worker").asText()).isEqualTo("trainer");
            List<String> manifests = store.list("uploads/").stream().filter(o -> o.sizeBytes() < 100_000)
                    .map(o -> new String(store.get(o.key()), StandardCharsets.UTF_8)).filter(t -> t.startsWith("image,")).toList();
            assertThat(manifests).as("one manifest among the uploads").hasSize(1);
            String firstRow = manifests.get(0).split("\n")[1];
            assertThat(firstRow).as("its cells are upload keys, not paths").contains("uploads/default/").doesNotContain("images/");
            client.cancel(jobId);
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> client.job(jobId).at("/job/state").asText().equals("cancelled"));
        }
    }
}
