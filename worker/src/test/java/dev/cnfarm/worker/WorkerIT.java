package dev.cnfarm.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.embedded.FreePorts;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.models.skeleton.SkeletonBundle;
import dev.cnfarm.proto.v1.ControlNetInput;
import dev.cnfarm.proto.v1.FailureCause;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.RenderTask;
import dev.cnfarm.proto.v1.SchemaVersion;
import dev.cnfarm.proto.v1.TaskEvent;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Predicate;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** A real worker against the embedded broker and S3 server, fed tasks by hand. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkerIT {
    private FarmTestInfra infra;
    private FarmConfig config;
    private Topics topics;
    private ObjectStore store;
    private KafkaProducer<String, byte[]> producer;
    private Path models;

    @BeforeAll
    void start() throws Exception {
        infra = FarmTestInfra.embedded(Files.createTempDirectory("worker-it"));
        models = Files.createTempDirectory("worker-it-models");
        config = infra.config().with(ConfigKeys.WORKER_MODEL_DIR, models.toString());
        topics = new Topics(config.kafka().topicPrefix());
        store = new MinioObjectStore(config.s3());
        producer = KafkaClients.producer(config.kafka(), "worker-it");
    }

    @AfterAll
    void stop() {
        producer.close();
        store.close();
        infra.close();
    }

    @Test
    void rendersTaskStoresPngAndReportsProgressAndResult() throws Exception {
        ObjectInfo control = uploadControl(checkerboard(32));
        String job = "job-" + UUID.randomUUID();
        RenderTask task = task(job, 0, control, 5, 48, 32);
        try (WorkerService worker = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "w-ok"))) {
            send(task);
            List<TaskEvent> events = awaitEvents(topics.taskEvents(), job, e -> e.hasResult() || e.hasFailed());
            TaskEvent last = events.get(events.size() - 1);
            assertThat(last.hasResult()).as("events %s", events).isTrue();
            assertThat(events.get(0).hasStarted()).isTrue();
            assertThat(last.getWorkerId()).isEqualTo("w-ok");
            assertThat(last.getAttempt()).isEqualTo(1);

            assertThat(last.getResult().getOutput().getKey()).as("each attempt writes its own key")
                    .isEqualTo(ObjectKeys.attemptOutput(task.getOutputKey(), 1, 1));
            byte[] png = store.get(last.getResult().getOutput().getKey());
            assertThat(Sha256.of(png)).isEqualTo(last.getResult().getOutput().getSha256());
            assertThat(png.length).isEqualTo(last.getResult().getOutput().getSizeBytes());
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
            assertThat(img.getWidth()).isEqualTo(48);
            assertThat(img.getHeight()).isEqualTo(32);

            List<TaskEvent> progress = awaitEvents(topics.progress(), job, e -> e.getProgress().getStep() == 5);
            assertThat(progress).extracting(e -> e.getProgress().getStep()).containsExactly(1, 2, 3, 4, 5);
        }
    }

    @Test
    void metricsAndHealthEndpointsCountTasksAndSteps() throws Exception {
        ObjectInfo control = uploadControl(checkerboard(16));
        ObjectInfo junk = store.put(ObjectKeys.upload("default", Sha256.of("junk-m".getBytes())), "junk-m".getBytes(), "image/png");
        String job = "job-" + UUID.randomUUID();
        FarmConfig c = config.with(ConfigKeys.WORKER_ID, "w-metrics").with(ConfigKeys.WORKER_METRICS_HOST, "127.0.0.1");
        HttpClient http = HttpClient.newHttpClient();
        String metricsUrl;
        try (WorkerService worker = WorkerService.start(c)) {
            metricsUrl = worker.metricsUrl().orElseThrow();
            HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create(metricsUrl.replace("/metrics", "/health/ready")))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(ready.statusCode()).isEqualTo(200);
            assertThat(ready.body()).contains("\"ready\":true", "\"state\":\"idle\"");

            send(task(job, 0, control, 5, 16, 16));
            send(task(job, 1, junk, 5, 16, 16));
            awaitEvents(topics.taskEvents(), job, TaskEvent::hasResult);
            awaitEvents(topics.taskEvents(), job, TaskEvent::hasFailed);
            // the worker counts a task once it has settled it, just after its event is out
            String url = metricsUrl;
            String failedLine = "farm_worker_tasks_total{cause=\"bad_input\",outcome=\"failed\",worker=\"w-metrics\"} 1.0";
            String metrics = org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> http.send(
                    HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body(), m -> m.contains(failedLine));
            assertThat(metrics)
                    .contains("farm_worker_tasks_total{cause=\"none\",outcome=\"succeeded\",worker=\"w-metrics\"} 1.0")
                    .contains("farm_worker_tasks_total{cause=\"bad_input\",outcome=\"failed\",worker=\"w-metrics\"} 1.0")
                    .as("5 steps: 4 measured from the end of the step before")
                    .contains("farm_worker_step_seconds_count{worker=\"w-metrics\"} 4")
                    .contains("farm_worker_busy{worker=\"w-metrics\"}", "farm_worker_gpu_memory_bytes{kind=\"used\",worker=\"w-metrics\"} 0.0",
                            "jvm_memory_used_bytes");
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> http.send(HttpRequest.newBuilder(URI.create(metricsUrl)).build(),
                HttpResponse.BodyHandlers.ofString())).as("a closed worker frees its port").isInstanceOf(java.io.IOException.class);
    }

    @Test
    void aMetricsPortInUseStopsTheWorkerNamingTheSetting() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            FarmConfig c = config.with(ConfigKeys.WORKER_ID, "w-port").with(ConfigKeys.WORKER_METRICS_HOST, "127.0.0.1")
                    .with(ConfigKeys.WORKER_METRICS_PORT, String.valueOf(taken.getLocalPort()));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> WorkerService.start(c))
                    .hasMessageContaining("worker.metrics-port").hasMessageContaining(String.valueOf(taken.getLocalPort()));
        }
    }

    @Test
    void aDiffusersExportWithAMergedControlNetRendersTheBundlesImageAndIsReportedWithItsContract() throws Exception {
        // the tiny bundle exported in the diffusers layout, plus its ControlNet in the split form merged into unet_controlnet/
        Path exportDir = Files.createTempDirectory("worker-it-exports").resolve("sd-export");
        dev.cnfarm.models.interop.DiffusersOnnxExport.export(dev.cnfarm.models.bundle.GeneratedBundles.tiny(models), exportDir,
                new dev.cnfarm.models.interop.DiffusersOnnxExport.Options(dev.cnfarm.models.interop.TensorType.INT64,
                        dev.cnfarm.models.interop.Contracts.TimestepShape.SCALAR, dev.cnfarm.models.interop.TensorType.INT32,
                        dev.cnfarm.models.interop.TensorType.FLOAT32));
        Path split = exportDir.getParent().resolve("split");
        dev.cnfarm.models.interop.SplitControlNet.build(split, dev.cnfarm.models.arch.ModelPreset.tiny(),
                new dev.cnfarm.models.weights.RandomWeights(dev.cnfarm.models.bundle.GeneratedBundles.SEED, false),
                dev.cnfarm.models.onnx.GraphBuilder.Storage.FP32, false);
        dev.cnfarm.models.interop.ControlNetMerge.mergeFiles(split.resolve("controlnet/model.onnx"), split.resolve("unet/model.onnx"),
                exportDir.resolve(dev.cnfarm.models.interop.DiffusersOnnxModel.CONTROLLED_UNET_FILE));
        String job = "job-" + UUID.randomUUID();
        ObjectInfo control = uploadControl(checkerboard(32));
        try (WorkerService worker = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "w-interop")
                .with(ConfigKeys.WORKER_MODELS, exportDir.toString()))) {
            // the same controlled request to the bundle and to the export (DDIM: integer timesteps, none lost to an int64 timestep);
            // a window of the first half runs the merged graph for some steps and the plain UNet for the others
            for (String m : List.of("tiny", "sd-export")) {
                RenderTask t = task(job, m.equals("tiny") ? 0 : 1, control, 4, 32, 32);
                send(t.toBuilder().setScheduler("ddim").setModel(m)
                        .setControlnets(0, t.getControlnets(0).toBuilder().setEnd(0.5f)).build());
            }
            List<TaskEvent> events = awaitEvents(topics.taskEvents(), job, e -> false, 2);
            List<TaskEvent> results = events.stream().filter(TaskEvent::hasResult).toList();
            assertThat(results).as("events %s", events).hasSize(2);
            int[][] pixels = new int[2][];
            for (TaskEvent e : results) {
                BufferedImage img = ImageIO.read(new ByteArrayInputStream(store.get(e.getResult().getOutput().getKey())));
                pixels[e.getTaskIndex()] = img.getRGB(0, 0, 32, 32, null, 0, 32);
            }
            int worst = 0;
            for (int i = 0; i < pixels[0].length; i++) {
                for (int shift = 0; shift <= 16; shift += 8) {
                    worst = Math.max(worst, Math.abs((pixels[0][i] >> shift & 0xff) - (pixels[1][i] >> shift & 0xff)));
                }
            }
            assertThat(worst).as("largest channel difference from the bundle's image (graphs agree to 1e-5)").isLessThanOrEqualTo(2);

            dev.cnfarm.proto.v1.WorkerStatus status = lastHeartbeat("w-interop");
            assertThat(status.getLoadedModelsList()).contains("tiny", "sd-export");
            assertThat(status.getModelLayoutsMap().get("sd-export")).startsWith("diffusers-onnx").contains("timestep int64 scalar")
                    .contains("input_ids int32").contains("merged UNet with 1 ControlNet");
            assertThat(status.getModelLayoutsMap().get("tiny")).startsWith("cnfarm-bundle");
        }
    }

    @Test
    void aWorkerModelsFolderThatIsNotAModelStopsTheStartNamingIt() throws Exception {
        Path empty = Files.createTempDirectory("not-a-model");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> WorkerService.start(config.with(ConfigKeys.WORKER_ID, "w-nomodel")
                        .with(ConfigKeys.WORKER_MODELS, empty.toString())))
                .hasMessageContaining(empty.toString());
    }

    private dev.cnfarm.proto.v1.WorkerStatus lastHeartbeat(String workerId) {
        dev.cnfarm.proto.v1.WorkerStatus[] last = {null};
        dev.cnfarm.common.kafka.TopicReplay.readToEnd(config.kafka(), List.of(topics.workers()), Duration.ofSeconds(30), r -> {
            if (r.key().equals(workerId)) {
                try {
                    last[0] = dev.cnfarm.proto.v1.WorkerStatus.parseFrom(r.value());
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }
        });
        assertThat(last[0]).as("a heartbeat of " + workerId).isNotNull();
        return last[0];
    }

    @Test
    void sameTaskGivesTheSameImage() throws Exception {
        ObjectInfo control = uploadControl(checkerboard(16));
        String job = "job-" + UUID.randomUUID();
        try (WorkerService worker = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "w-repeat"))) {
            send(task(job, 0, control, 3, 16, 16));
            send(task(job, 1, control, 3, 16, 16));
            List<TaskEvent> events = awaitEvents(topics.taskEvents(), job, e -> false, 2);
            List<String> digests = events.stream().filter(TaskEvent::hasResult).map(e -> e.getResult().getOutput().getSha256()).toList();
            assertThat(digests).hasSize(2);
            assertThat(digests.get(0)).isEqualTo(digests.get(1));
        }
    }

    @Test
    void aWorkerTakesSeveralTasksAndComputesCompatibleOnesTogetherEachAsItComesAlone() throws Exception {
        ObjectInfo control = uploadControl(checkerboard(16));
        ObjectInfo junk = store.put(ObjectKeys.upload("default", Sha256.of("junk-batch".getBytes())), "junk-batch".getBytes(), "image/png");
        String together = "job-" + UUID.randomUUID();
        String alone = "job-" + UUID.randomUUID();
        // sent before the worker starts, in one flush, so that its first poll takes four
        List<RenderTask> tasks = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            tasks.add(task(together, i, control, 3, 16, 16).toBuilder().setSeed(100 + i).setPrompt("image " + i).build());
        }
        tasks.add(task(together, 3, junk, 3, 16, 16)); // fails alone, on its control image
        tasks.add(task(together, 4, control, 3, 24, 16)); // another size: a batch of its own
        for (RenderTask t : tasks) {
            producer.send(new ProducerRecord<>(topics.tasks(), t.getTaskId(), t.toByteArray()));
        }
        producer.flush();
        List<TaskEvent> results;
        try (WorkerService worker = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "w-batch").with(ConfigKeys.WORKER_MAX_BATCH, "4"))) {
            results = awaitEvents(topics.taskEvents(), together, e -> false, 4).stream().filter(e -> e.hasResult() || e.hasFailed()).toList();
            assertThat(lastHeartbeat("w-batch").getMaxBatch()).isEqualTo(4);
        }
        assertThat(results).filteredOn(TaskEvent::hasFailed).extracting(TaskEvent::getTaskIndex).containsExactly(3);
        assertThat(results).filteredOn(TaskEvent::hasFailed).allSatisfy(e -> assertThat(e.getFailed().getCause())
                .isEqualTo(FailureCause.FAILURE_CAUSE_BAD_INPUT));
        java.util.Map<Integer, TaskEvent> byIndex = new java.util.HashMap<>();
        results.stream().filter(TaskEvent::hasResult).forEach(e -> byIndex.put(e.getTaskIndex(), e));
        assertThat(byIndex.keySet()).containsExactlyInAnyOrder(0, 1, 2, 4);
        for (int i : List.of(0, 1, 2, 4)) {
            com.fasterxml.jackson.databind.JsonNode sidecar = dev.cnfarm.common.json.Json.mapper()
                    .readTree(store.get(ObjectKeys.sidecar(byIndex.get(i).getResult().getOutput().getKey())));
            assertThat(sidecar.get("batch_size").asInt()).as("task " + i).isEqualTo(i == 4 ? 1 : 3);
        }

        // the same three tasks one at a time: the same bytes
        try (WorkerService worker = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "w-single"))) {
            for (int i = 0; i < 3; i++) {
                send(tasks.get(i).toBuilder().setJobId(alone).setTaskId(alone + "-" + i).build());
            }
            List<TaskEvent> single = awaitEvents(topics.taskEvents(), alone, e -> false, 3);
            for (TaskEvent e : single.stream().filter(TaskEvent::hasResult).toList()) {
                assertThat(e.getResult().getOutput().getSha256()).as("task " + e.getTaskIndex())
                        .isEqualTo(byIndex.get(e.getTaskIndex()).getResult().getOutput().getSha256());
            }
        }
    }

    @Test
    void undecodableControlImageIsAFinalContentFailure() throws Exception {
        ObjectInfo junk = store.put(ObjectKeys.upload("default", Sha256.of("junk".getBytes())), "junk".getBytes(), "image/png");
        String job = "job-" + UUID.randomUUID();
        try (WorkerService worker = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "w-bad"))) {
            send(task(job, 0, junk, 3, 16, 16));
            List<TaskEvent> events = awaitEvents(topics.taskEvents(), job, TaskEvent::hasFailed);
            TaskEvent failed = events.get(events.size() - 1);
            assertThat(failed.getFailed().getCause()).isEqualTo(FailureCause.FAILURE_CAUSE_BAD_INPUT);
            assertThat(failed.getFailed().getRetryable()).isFalse();
            assertThat(failed.getFailed().getMessage()).contains("not an image");
        }
    }

    /**
     * A presigned PUT accepts whatever body it is sent: bytes other than the sha256 their upload key
     * names fail the task at once (no retry reads other bytes) and are deleted, so they are never used.
     */
    @Test
    void anUploadHoldingOtherBytesThanItsKeyNamesFailsAtOnceAndIsDeleted() throws Exception {
        byte[] declared = ("the bytes a client declared " + UUID.randomUUID()).getBytes(); // no control map of them is cached
        String key = ObjectKeys.upload("default", Sha256.of(declared));
        store.put(key, "sixty megabytes of something else".getBytes(), "image/png");
        ObjectInfo named = new ObjectInfo(key, declared.length, Sha256.of(declared), "image/png");
        String job = "job-" + UUID.randomUUID();
        try (WorkerService worker = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "w-swapped"))) {
            send(task(job, 0, named, 3, 16, 16));
            List<TaskEvent> events = awaitEvents(topics.taskEvents(), job, TaskEvent::hasFailed);
            TaskEvent failed = events.get(events.size() - 1);
            assertThat(failed.getFailed().getCause()).isEqualTo(FailureCause.FAILURE_CAUSE_BAD_INPUT);
            assertThat(failed.getFailed().getPermanent()).as("ends the task on its first attempt").isTrue();
            assertThat(failed.getFailed().getMessage()).contains(key, "not the " + Sha256.of(declared), "the object was deleted");
            assertThat(store.stat(key)).isEmpty();
        }
    }

    /**
     * A job's LoRA: the worker fetches the file from the tenant's uploads, merges it once for the
     * job's tasks (one set of graph copies), renders other images than the base model's with the
     * same seed, and records the LoRA in the PNG's parameters and the sidecar; a LoRA upload
     * holding other bytes than its key names fails its task at once and is deleted.
     */
    @Test
    void aJobsLoraIsFetchedMergedOnceAndRecordedAndAnUploadOfOtherBytesIsRefused() throws Exception {
        dev.cnfarm.models.bundle.ModelBundle tiny = dev.cnfarm.models.bundle.GeneratedBundles.tiny(models);
        List<dev.cnfarm.models.onnx.ParamSpec> params = dev.cnfarm.models.weights.GraphWeights.of(List.of(
                tiny.graph(dev.cnfarm.models.bundle.BundleBuilder.TEXT_ENCODER), tiny.graph(dev.cnfarm.models.bundle.BundleBuilder.UNET))).params();
        Path file = dev.cnfarm.worker.testing.LoraFixtures.kohya(Files.createTempFile(models, "style", ".safetensors"),
                params.stream().filter(dev.cnfarm.worker.testing.LoraFixtures::attention).toList(), 2, 9, 0.4f);
        byte[] bytes = Files.readAllBytes(file);
        ObjectInfo upload = store.put(ObjectKeys.upload("default", Sha256.of(bytes)), bytes, "application/octet-stream");
        dev.cnfarm.proto.v1.LoraRef lora = dev.cnfarm.proto.v1.LoraRef.newBuilder().setName("style").setWeight(0.8f)
                .setFile(ObjectRef.newBuilder().setKey(upload.key()).setSha256(upload.sha256()).setSizeBytes(upload.sizeBytes())).build();
        ObjectInfo control = uploadControl(checkerboard(32));
        String job = "job-" + UUID.randomUUID();
        try (WorkerService worker = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "w-lora"))) {
            send(task(job, 0, control, 3, 32, 32));
            send(task(job, 1, control, 3, 32, 32).toBuilder().addLoras(lora).build());
            send(task(job, 2, control, 3, 32, 32).toBuilder().addLoras(lora).build());
            List<TaskEvent> results = awaitEvents(topics.taskEvents(), job, e -> false, 3).stream().filter(TaskEvent::hasResult).toList();
            assertThat(results).hasSize(3);
            java.util.Map<Integer, int[]> pixels = new java.util.HashMap<>();
            for (TaskEvent r : results) {
                byte[] png = store.get(r.getResult().getOutput().getKey());
                BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
                pixels.put(r.getTaskIndex(), img.getRGB(0, 0, 32, 32, null, 0, 32));
                String text = new String(png, java.nio.charset.StandardCharsets.ISO_8859_1);
                String sidecar = new String(store.get(ObjectKeys.sidecar(r.getResult().getOutput().getKey())));
                if (r.getTaskIndex() == 0) {
                    assertThat(text).doesNotContain("<lora:");
                } else {
                    assertThat(text).as("the PNG's parameters, as A1111 writes them").contains("a test <lora:style:0.8>");
                    assertThat(sidecar).contains("\"name\" : \"style\"", upload.sha256());
                }
            }
            assertThat(pixels.get(1)).as("same seed and LoRA, same image").isEqualTo(pixels.get(2));
            assertThat(pixels.get(1)).as("the LoRA changes the image").isNotEqualTo(pixels.get(0));
            try (var merged = Files.list(models.resolve("loras").resolve("merged"))) {
                assertThat(merged.toList()).as("one merge for the job's LoRA set").hasSize(1);
            }

            String swappedKey = ObjectKeys.upload("default", Sha256.of(("declared " + job).getBytes()));
            store.put(swappedKey, bytes, "application/octet-stream");
            dev.cnfarm.proto.v1.LoraRef swapped = lora.toBuilder().setFile(ObjectRef.newBuilder().setKey(swappedKey)
                    .setSha256(swappedKey.substring(swappedKey.lastIndexOf('/') + 1))).build();
            String job2 = "job-" + UUID.randomUUID();
            send(task(job2, 0, control, 3, 32, 32).toBuilder().addLoras(swapped).build());
            List<TaskEvent> events = awaitEvents(topics.taskEvents(), job2, TaskEvent::hasFailed);
            TaskEvent failed = events.get(events.size() - 1);
            assertThat(failed.getFailed().getPermanent()).isTrue();
            assertThat(failed.getFailed().getMessage()).contains("LoRA file " + swappedKey, "the object was deleted");
            assertThat(store.stat(swappedKey)).isEmpty();
        }
    }

    /**
     * Inpainting through a worker: the init image and mask are fetched from the uploads, the
     * pixels outside the mask come back exactly as uploaded, the masked ones are repainted, the
     * PNG records A1111's img2img settings; a mask of another size than its init image fails the
     * task at once, naming both.
     */
    @Test
    void anInpaintingTaskKeepsThePixelsOutsideItsMaskAndAMaskOfAnotherSizeIsRefused() throws Exception {
        BufferedImage init = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        BufferedImage mask = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                init.setRGB(x, y, (x * 8) << 16 | (y * 8) << 8 | 0x40);
                mask.setRGB(x, y, x < 16 ? 0xffffff : 0);
            }
        }
        ObjectInfo initRef = uploadControl(png(init));
        ObjectInfo maskRef = uploadControl(png(mask));
        ObjectInfo smallMask = uploadControl(checkerboard(16));
        String job = "job-" + UUID.randomUUID();
        RenderTask.Builder inpaint = task(job, 0, initRef, 4, 32, 32).toBuilder().clearControlnets()
                .setInitImage(ObjectRef.newBuilder().setKey(initRef.key()).setSha256(initRef.sha256()))
                .setMaskImage(ObjectRef.newBuilder().setKey(maskRef.key()).setSha256(maskRef.sha256()))
                .setStrength(0.7f).setMaskBlur(0);
        try (WorkerService worker = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "w-inpaint"))) {
            send(inpaint.build());
            List<TaskEvent> events = awaitEvents(topics.taskEvents(), job, e -> e.hasResult() || e.hasFailed());
            TaskEvent last = events.get(events.size() - 1);
            assertThat(last.hasResult()).as("events %s", events).isTrue();
            byte[] out = store.get(last.getResult().getOutput().getKey());
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(out));
            int changed = 0;
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    if (x >= 16) {
                        assertThat(img.getRGB(x, y) & 0xffffff).as("kept pixel %d,%d", x, y).isEqualTo(init.getRGB(x, y) & 0xffffff);
                    } else if ((img.getRGB(x, y) & 0xffffff) != (init.getRGB(x, y) & 0xffffff)) {
                        changed++;
                    }
                }
            }
            assertThat(changed).as("the masked half repainted").isGreaterThan(16 * 32 / 2);
            assertThat(new String(out, java.nio.charset.StandardCharsets.ISO_8859_1)).contains("Denoising strength: 0.7, Mask blur: 0");
            assertThat(new String(store.get(ObjectKeys.sidecar(last.getResult().getOutput().getKey())))).contains("\"mode\" : \"inpaint\"");

            String job2 = "job-" + UUID.randomUUID();
            send(inpaint.setJobId(job2).setTaskId(job2 + "-0").setOutputKey(ObjectKeys.output("default", job2, 0))
                    .setMaskImage(ObjectRef.newBuilder().setKey(smallMask.key()).setSha256(smallMask.sha256())).build());
            List<TaskEvent> refused = awaitEvents(topics.taskEvents(), job2, TaskEvent::hasFailed);
            TaskEvent failed = refused.get(refused.size() - 1);
            assertThat(failed.getFailed().getPermanent()).isTrue();
            assertThat(failed.getFailed().getMessage()).contains("mask image " + smallMask.key() + " is 16x16", "32x32");
        }
    }

    private static byte[] png(BufferedImage img) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    /** Past its memory a CPU worker is killed, not told: a task larger than worker.max-pixels is refused before it starts. */
    @Test
    void aTaskLargerThanTheWorkerRendersIsLeftForAnotherWorkerBeforeAnythingIsAllocated() throws Exception {
        ObjectInfo control = uploadControl(checkerboard(16));
        String job = "job-" + UUID.randomUUID();
        try (WorkerService worker = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "w-small").with(ConfigKeys.WORKER_MAX_PIXELS,
                String.valueOf(64 * 64)))) {
            send(task(job, 0, control, 3, 128, 64));
            List<TaskEvent> events = awaitEvents(topics.taskEvents(), job, TaskEvent::hasFailed);
            TaskEvent failed = events.get(events.size() - 1);
            assertThat(failed.getFailed().getCause()).isEqualTo(FailureCause.FAILURE_CAUSE_OUT_OF_MEMORY);
            assertThat(failed.getFailed().getRetryable()).as("another worker may render it").isTrue();
            assertThat(failed.getFailed().getMessage()).contains("128x64", "at most 4096 pixels", "worker.max-pixels");
        }
    }

    @Test
    void unreachableStorageIsReportedAsARetryableInfrastructureFailure() throws Exception {
        ObjectInfo control = uploadControl(checkerboard(16));
        String job = "job-" + UUID.randomUUID();
        FarmConfig brokenS3 = config.with(ConfigKeys.WORKER_ID, "w-nos3")
                .with(ConfigKeys.S3_ENDPOINT, "http://127.0.0.1:" + FreePorts.pick());
        try (WorkerService worker = WorkerService.start(brokenS3)) {
            send(task(job, 0, control, 3, 16, 16));
            List<TaskEvent> events = awaitEvents(topics.taskEvents(), job, TaskEvent::hasFailed);
            TaskEvent failed = events.get(events.size() - 1);
            assertThat(failed.getFailed().getCause()).isEqualTo(FailureCause.FAILURE_CAUSE_STORAGE_UNAVAILABLE);
            assertThat(failed.getFailed().getRetryable()).as("the scheduler retries it without spending the budget").isTrue();
            // the worker acknowledged the attempt as done: the retry is the scheduler's to make, not a redelivery
            Thread.sleep(3000);
            assertThat(awaitEvents(topics.taskEvents(), job, TaskEvent::hasFailed)).filteredOn(TaskEvent::hasStarted).hasSize(1);
        }
    }

    private ObjectInfo uploadControl(byte[] png) {
        return store.put(ObjectKeys.upload("default", Sha256.of(png)), png, "image/png");
    }

    private String model = "tiny";

    private RenderTask task(String job, int index, ObjectInfo control, int steps, int w, int h) {
        return RenderTask.newBuilder()
                .setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE)
                .setTaskId(job + "-" + index).setJobId(job).setTenant("default").setIndex(index)
                .setPrompt("a test")
                .addControlnets(ControlNetInput.newBuilder().setImage(ObjectRef.newBuilder().setKey(control.key()).setSha256(control.sha256()))
                        .setScale(1f).setStart(0f).setEnd(1f).setMode("balanced"))
                .setSeed(1234).setSteps(steps).setWidth(w).setHeight(h).setGuidanceScale(7.5f).setScheduler("euler")
                .setModel(model)
                .setOutputKey(ObjectKeys.output("default", job, index))
                .build();
    }

    private void send(RenderTask task) throws Exception {
        producer.send(new ProducerRecord<>(topics.tasks(), task.getTaskId(), task.toByteArray())).get();
    }

    private List<TaskEvent> awaitEvents(String topic, String job, Predicate<TaskEvent> last) {
        return awaitEvents(topic, job, last, Integer.MAX_VALUE);
    }

    /** Reads the topic from the start until an event of the job matches {@code last} or {@code count} results came. */
    private List<TaskEvent> awaitEvents(String topic, String job, Predicate<TaskEvent> last, int count) {
        List<TaskEvent> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> c = KafkaClients.replayConsumer(config.kafka(), "it-reader")) {
            List<TopicPartition> parts = c.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            long deadline = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < deadline) {
                for (var r : c.poll(Duration.ofMillis(200))) {
                    try {
                        TaskEvent e = TaskEvent.parseFrom(r.value());
                        if (e.getJobId().equals(job)) {
                            out.add(e);
                            if (last.test(e) || out.stream().filter(TaskEvent::hasResult).count() >= count) {
                                return out;
                            }
                        }
                    } catch (Exception ignored) {
                        // not an event of ours
                    }
                }
            }
        }
        throw new AssertionError("no final event for " + job + " on " + topic + "; saw " + out);
    }

    static byte[] checkerboard(int size) throws Exception {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                img.setRGB(x, y, ((x / 4 + y / 4) % 2 == 0) ? 0xffffff : 0);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }
}
