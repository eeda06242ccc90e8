package dev.cnfarm.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.coordinator.CoordinatorService;
import dev.cnfarm.coordinator.auth.Role;
import dev.cnfarm.worker.WorkerService;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The walking skeleton end to end: a control image uploaded through a presigned URL, a job posted
 * over REST, progress followed over a real websocket, a real worker rendering from the share group,
 * and every output checked in S3. Subclasses choose embedded servers or containers.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class EndToEndContract {
    private FarmTestInfra infra;
    private CoordinatorService coordinator;
    private WorkerService worker;
    private FarmConfig config;
    private FarmClient client;
    private String token;

    protected abstract FarmTestInfra startInfra() throws Exception;

    @BeforeAll
    void start() throws Exception {
        infra = startInfra();
        Path models = Files.createTempDirectory("e2e-models");
        config = infra.config().with(ConfigKeys.COORDINATOR_PORT, "0").with(ConfigKeys.WORKER_MODEL_DIR, models.toString());
        coordinator = CoordinatorService.start(config);
        worker = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "e2e-worker"));
        token = coordinator.issueToken("default", Role.TENANT, "end to end");
        client = new FarmClient(coordinator.url(config), token);
    }

    @AfterAll
    void stop() {
        if (worker != null) {
            worker.close();
        }
        if (coordinator != null) {
            coordinator.close();
        }
        if (infra != null) {
            infra.close();
        }
    }

    @Test
    void jobOverRestProgressOverWebsocketOutputsInS3() throws Exception {
        Path control = Path.of("../samples/control/house.png");
        String key = client.upload(control);
        assertThat(key).isEqualTo("uploads/default/" + Sha256.of(control));

        String job = """
                {"name": "e2e", "prompts": ["a house", "a barn"], "control_images": ["%s"], "seeds": [11, 12],
                 "steps": 6, "width": 96, "height": 64}
                """.formatted(key);
        JsonNode answer = client.submit(job, null, false);
        String jobId = answer.get("job_id").asText();
        assertThat(answer.at("/quote/task_count").asInt()).isEqualTo(4);

        List<JsonNode> frames = new CopyOnWriteArrayList<>();
        CompletableFuture<JsonNode> finished = new CompletableFuture<>();
        WebSocket ws = client.openJobSocket(jobId, new WebSocket.Listener() {
            private final StringBuilder buf = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
                buf.append(data);
                if (last) {
                    try {
                        for (JsonNode frame : flatten(Json.mapper().readTree(buf.toString()))) {
                            frames.add(frame);
                            String state = frame.at("/job/state").asText();
                            if (state.equals("succeeded") || state.equals("failed")) {
                                finished.complete(frame);
                            }
                        }
                    } catch (Exception e) {
                        finished.completeExceptionally(e);
                    }
                    buf.setLength(0);
                }
                socket.request(1);
                return null;
            }
        }).get(10, TimeUnit.SECONDS);

        JsonNode last = finished.get(120, TimeUnit.SECONDS);
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "done");
        assertThat(last.at("/job/state").asText()).isEqualTo("succeeded");
        assertThat(frames.get(0).get("type").asText()).isEqualTo("hello");
        assertThat(frames.get(1).get("type").asText()).isEqualTo("snapshot");
        Set<String> events = new HashSet<>();
        frames.forEach(f -> events.add(f.path("event").asText()));
        assertThat(events).contains("started", "progress", "result");
        long resultFrames = frames.stream().filter(f -> "result".equals(f.path("event").asText())).count();
        assertThat(resultFrames).as("one result event per task (the socket opened before any task finished)")
                .isBetween(1L, 4L);

        JsonNode snapshot = client.job(jobId);
        assertThat(snapshot.get("tasks")).hasSize(4);
        try (ObjectStore store = new MinioObjectStore(config.s3())) {
            for (JsonNode t : snapshot.get("tasks")) {
                assertThat(t.get("state").asText()).isEqualTo("succeeded");
                ObjectInfo info = store.stat(t.get("output_key").asText()).orElseThrow();
                assertThat(info.sizeBytes()).isEqualTo(t.get("output_size_bytes").asLong()).isGreaterThan(100);
                byte[] png = store.get(info.key());
                assertThat(Sha256.of(png)).isEqualTo(t.get("output_sha256").asText());
                BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
                assertThat(img.getWidth()).isEqualTo(96);
                assertThat(img.getHeight()).isEqualTo(64);
            }
        }

        // and the presigned download links the CLI uses
        JsonNode outputs = client.outputs(jobId).get("outputs");
        assertThat(outputs).hasSize(4);
        byte[] first = client.fetch(outputs.get(0).get("url").asText());
        assertThat(Sha256.of(first)).isEqualTo(outputs.get(0).get("sha256").asText());
    }

    /**
     * The trained shapes model through the whole farm, text to image: a job without control images
     * is quoted and summarised as text to image, its images have no ControlNet in their sidecars or
     * PNG parameters, and they show what their captions ask for (scored by the evaluation's
     * classifier; the full 200-caption evaluation is `farm eval text`).
     */
    @Test
    void theTrainedShapesModelRendersWhatItsCaptionsAsk() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.cnfarm.models.bundle.TrainedModels.hasShapes(),
                "this build ships no trained shapes model (trained/shapes)");
        Path report = Files.createTempDirectory("eval");
        List<dev.cnfarm.cli.eval.TextEvaluation.Score> scores = dev.cnfarm.cli.eval.TextEvaluation.run(client,
                new dev.cnfarm.cli.eval.TextEvaluation.Settings("shapes", 24, 20, List.of(7.5f), "euler", 77, 128), report,
                new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        dev.cnfarm.cli.eval.TextEvaluation.Score s = scores.get(0);
        assertThat(s.failed()).isZero();
        // well below what the 200-caption evaluation measures, so 24 images cannot fail it by chance
        assertThat(s.background()).as("background colour accuracy").isGreaterThanOrEqualTo(0.75);
        assertThat(s.shapeColour()).as("shape colour accuracy").isGreaterThanOrEqualTo(0.6);
        assertThat(report.resolve("contact-sheet-g7.5.png")).exists();
        JsonNode job = client.job(s.jobId());
        assertThat(job.at("/job/mode").asText()).isEqualTo("text_to_image");
        try (ObjectStore store = new MinioObjectStore(config.s3())) {
            String key = job.at("/tasks/0/output_key").asText();
            JsonNode sidecar = Json.mapper().readTree(store.get(key.replace(".png", ".json")));
            assertThat(sidecar.get("mode").asText()).isEqualTo("text_to_image");
            assertThat(sidecar.get("controlnets")).isEmpty();
            assertThat(sidecar.get("model").asText()).isEqualTo("shapes");
            String params = dev.cnfarm.worker.output.PngText.read(store.get(key), "parameters");
            assertThat(params).startsWith(dev.cnfarm.cli.eval.EvalCaptions.draw(24, 77).get(0).caption() + "\nSteps: 20")
                    .contains("Model: shapes").doesNotContain("ControlNet");
        }
    }

    /**
     * A hires job through the farm: the base images, then one second pass per image at twice the
     * size, released after its base image succeeded and started from it (its sidecar names the base
     * output as its init image); progress counts both stages.
     */
    @Test
    void aHiresJobRendersEachImageAgainAtTwiceTheSizeFromItsBaseImage() throws Exception {
        String key = client.upload(Path.of("../samples/control/house.png"));
        String body = "{\"prompts\":[\"a house\"],\"control_images\":[\"" + key + "\"],\"seeds\":[1,2],\"steps\":3,"
                + "\"width\":64,\"height\":64,\"hires\":{\"scale\":2,\"steps\":2,\"strength\":0.5}}";
        JsonNode quote = client.submit(body, null, true).get("quote");
        assertThat(quote.get("task_count").asInt()).isEqualTo(4);
        assertThat(quote.get("stages")).extracting(st -> st.get("name").asText() + ":" + st.get("task_count").asInt())
                .containsExactly("base:2", "hires:2");
        String jobId = client.submit(body, null, false).get("job_id").asText();
        Map<Integer, String> digests = awaitDigests(jobId);
        assertThat(digests).hasSize(4);
        JsonNode job = client.job(jobId);
        try (ObjectStore store = new MinioObjectStore(config.s3())) {
            for (int i = 2; i < 4; i++) {
                String output = job.get("tasks").get(i).get("output_key").asText();
                String base = job.get("tasks").get(i - 2).get("output_key").asText();
                JsonNode sidecar = Json.mapper().readTree(store.get(output.replace(".png", ".json")));
                java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(store.get(output)));
                assertThat(img.getWidth()).as("task %d", i).isEqualTo(128);
                assertThat(sidecar.get("init_image").asText()).isEqualTo(base);
                assertThat(sidecar.get("mode").asText()).isEqualTo("img2img");
                assertThat(sidecar.get("stage").asInt()).isEqualTo(1);
                assertThat(sidecar.get("steps").asInt()).isEqualTo(2);
            }
        }
    }

    /**
     * A 4x tiled upscale through the farm with two workers: the base image, 25 tiles of 128 over
     * 512x512 (both workers render some), and the blend; the final image has the requested size and
     * no seams: the gradient across the tiles' borders is within 1.5x of the image's elsewhere.
     */
    @Test
    void aTiledUpscaleIsRenderedByTwoWorkersAndBlendedWithoutSeams() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.cnfarm.models.bundle.TrainedModels.hasShapes(), "this build ships no shapes model");
        try (WorkerService second = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "e2e-second-tiler"))) {
            String jobId = client.submit("{\"prompts\":[\"a red circle on a blue background\"],\"model\":\"shapes\",\"seeds\":[3],"
                    + "\"steps\":10,\"width\":128,\"height\":128,\"upscale\":{\"scale\":4,\"tile\":128,\"overlap\":32,\"strength\":0.35}}",
                    null, false).get("job_id").asText();
            Map<Integer, String> digests = awaitDigests(jobId);
            assertThat(digests).hasSize(27);
            JsonNode job = client.job(jobId);
            java.util.Set<String> tilers = new java.util.HashSet<>();
            for (int i = 1; i <= 25; i++) {
                tilers.add(job.get("tasks").get(i).get("worker").asText());
            }
            assertThat(tilers).as("the tiles are spread over both workers").hasSize(2);
            try (ObjectStore store = new MinioObjectStore(config.s3())) {
                java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(
                        store.get(job.get("tasks").get(26).get("output_key").asText())));
                assertThat(img.getWidth()).isEqualTo(512);
                assertThat(img.getHeight()).isEqualTo(512);
                double ratio = dev.cnfarm.cli.eval.SeamMetric.ratio(img, List.of(96, 128, 192, 224, 288, 320, 384, 416));
                Path out = Files.createDirectories(Path.of("target/tiled-upscale"));
                javax.imageio.ImageIO.write(img, "png", out.resolve("final.png").toFile());
                Files.writeString(out.resolve("seam-ratio.txt"), ratio + System.lineSeparator());
                assertThat(ratio).as("gradient across tile borders over the image's elsewhere").isLessThanOrEqualTo(1.5);
            }
        }
    }

    /**
     * The ControlNets trained for the shapes model and shipped with it, through the whole farm:
     * control maps of fresh scenes, chosen by name, put the shapes where the maps draw them (the
     * full 200-map evaluation is `farm eval control`), against the same jobs at control scale 0.
     */
    @Test
    void theShippedControlNetsPutTheShapesWhereTheMapsDrawThem() throws Exception {
        List<String> shipped = dev.cnfarm.models.bundle.TrainedModels.shapesControlNets();
        org.junit.jupiter.api.Assumptions.assumeTrue(shipped.contains("canny"), "this build ships no Canny ControlNet for shapes");
        java.io.PrintStream quiet = new java.io.PrintStream(java.io.OutputStream.nullOutputStream());
        Path report = Files.createTempDirectory("eval-control");
        List<dev.cnfarm.cli.eval.ControlEvaluation.Score> canny = dev.cnfarm.cli.eval.ControlEvaluation.run(client,
                new dev.cnfarm.cli.eval.ControlEvaluation.Settings("canny", List.of("shapes"), "canny", 12, 20, 7.5f, "euler", 5, 128,
                        List.of(1f, 0f)), report, quiet);
        assertThat(canny.get(0).failed()).isZero();
        // well below what the 200-map evaluation measures, so 12 maps cannot fail it by chance
        assertThat(canny.get(0).maskIou()).as("mask IoU with the Canny ControlNet").isGreaterThanOrEqualTo(0.6);
        assertThat(canny.get(0).maskIou() - canny.get(1).maskIou()).as("IoU gained over control scale 0").isGreaterThanOrEqualTo(0.3);
        assertThat(report.resolve("contact-sheet-shapes-c1.0.png")).exists();
        if (shipped.contains("scribble")) {
            List<dev.cnfarm.cli.eval.ControlEvaluation.Score> scribble = dev.cnfarm.cli.eval.ControlEvaluation.run(client,
                    new dev.cnfarm.cli.eval.ControlEvaluation.Settings("scribble", List.of("shapes"), "scribble", 8, 20, 7.5f, "euler", 6,
                            128, List.of(1f)), Files.createTempDirectory("eval-scribble"), quiet);
            assertThat(scribble.get(0).maskIou()).as("mask IoU with the scribble ControlNet").isGreaterThanOrEqualTo(0.5);
        }
    }

    @Test
    void theSameJobTwiceGivesTheSameBytesAndProgressCarriesPreviews() throws Exception {
        String key = client.upload(Path.of("../samples/control/pose.png"));
        String job = """
                {"prompts": ["a dancer"], "control_images": ["%s"], "seeds": [5, 6], "steps": 10, "width": 64, "height": 64,
                 "scheduler": "euler_a", "model": "tiny"}
                """.formatted(key);
        List<JsonNode> frames = new CopyOnWriteArrayList<>();
        String first = client.submit(job, null, false).get("job_id").asText();
        WebSocket ws = client.openJobSocket(first, new WebSocket.Listener() {
            private final StringBuilder buf = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
                buf.append(data);
                if (last) {
                    try {
                        frames.addAll(flatten(Json.mapper().readTree(buf.toString())));
                    } catch (Exception ignored) {
                        // not JSON: the assertions below will say what is missing
                    }
                    buf.setLength(0);
                }
                socket.request(1);
                return null;
            }
        }).get(10, TimeUnit.SECONDS);
        Map<Integer, String> a = awaitDigests(first);
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "done");
        String second = client.submit(job, null, false).get("job_id").asText();
        Map<Integer, String> b = awaitDigests(second);
        assertThat(a).hasSize(2).isEqualTo(b);
        assertThat(a.get(0)).isNotEqualTo(a.get(1));
        List<JsonNode> previews = frames.stream().filter(f -> f.hasNonNull("preview_png")).toList();
        assertThat(previews).as("progress frames with previews").isNotEmpty();
        byte[] png = java.util.Base64.getDecoder().decode(previews.get(0).get("preview_png").asText());
        assertThat(ImageIO.read(new ByteArrayInputStream(png)).getWidth()).isEqualTo(8);
        // each image has its JSON sidecar with the generation parameters
        try (ObjectStore store = new MinioObjectStore(config.s3())) {
            String sidecarKey = client.job(first).at("/tasks/0/output_key").asText().replace(".png", ".json");
            JsonNode sidecar = Json.mapper().readTree(store.get(sidecarKey));
            assertThat(sidecar.get("seed").asLong()).isEqualTo(5);
            assertThat(sidecar.get("scheduler").asText()).isEqualTo("euler_a");
            assertThat(sidecar.get("controlled_steps").asInt()).isEqualTo(10);
        }
    }

    @Test
    void aBatchingWorkerRendersAJobsImagesTogetherWithTheBytesTheyHaveAlone() throws Exception {
        String key = client.upload(Path.of("../samples/control/house.png"));
        // a pool of its own, so only the batching worker takes these jobs
        try (WorkerService batching = WorkerService.start(config.with(ConfigKeys.WORKER_ID, "e2e-batching")
                .with(ConfigKeys.WORKER_POOL, "batching").with(ConfigKeys.WORKER_MAX_BATCH, "4"))) {
            String job = """
                    {"prompts": ["a cottage", "a barn"], "control_images": ["%s"], "seeds": [1, 2], "steps": 4, "width": 64,
                     "height": 64, "model": "tiny", "pool": "batching" %%s}
                    """.formatted(key);
            String together = client.submit(job.formatted(""), null, false).get("job_id").asText();
            Map<Integer, String> a = awaitDigests(together);
            String alone = client.submit(job.formatted(", \"batch_size\": 1"), null, false).get("job_id").asText();
            Map<Integer, String> b = awaitDigests(alone);
            assertThat(a).hasSize(4).isEqualTo(b);
            assertThat(batchSizes(together)).as("images computed together").anyMatch(n -> n > 1).allMatch(n -> n <= 4);
            assertThat(batchSizes(alone)).as("the job's batch_size 1").containsOnly(1);
        }
    }

    private List<Integer> batchSizes(String jobId) throws Exception {
        List<Integer> out = new java.util.ArrayList<>();
        try (ObjectStore store = new MinioObjectStore(config.s3())) {
            for (JsonNode t : client.job(jobId).get("tasks")) {
                JsonNode sidecar = Json.mapper().readTree(store.get(t.get("output_key").asText().replace(".png", ".json")));
                out.add(sidecar.get("batch_size").asInt());
            }
        }
        return out;
    }

    /** The updates in a websocket frame: an {@code events} frame's events one by one, any other frame as it is. */
    private static List<JsonNode> flatten(JsonNode frame) {
        if (!"events".equals(frame.path("type").asText())) {
            return List.of(frame);
        }
        List<JsonNode> out = new java.util.ArrayList<>();
        frame.path("events").forEach(out::add);
        return out;
    }

    private Map<Integer, String> awaitDigests(String jobId) throws Exception {
        long deadline = System.currentTimeMillis() + 120_000;
        JsonNode job = client.job(jobId);
        while (!job.at("/job/state").asText().equals("succeeded") && System.currentTimeMillis() < deadline) {
            assertThat(job.at("/job/state").asText()).isNotEqualTo("failed");
            Thread.sleep(200);
            job = client.job(jobId);
        }
        Map<Integer, String> out = new java.util.TreeMap<>();
        job.get("tasks").forEach(t -> out.put(t.get("index").asInt(), t.get("output_sha256").asText()));
        return out;
    }

    @Test
    void aReusedControlImageIsPreprocessedOnceAndItsMapKeptWithEachImage() throws Exception {
        String key = client.upload(Path.of("../samples/control/house.png"));
        // counts of earlier tests' tasks may still be on their way in a heartbeat: wait until they settle
        long[] before = controlMapCounts();
        for (int i = 0; i < 20; i++) {
            Thread.sleep(3L * config.worker().heartbeatMs());
            long[] again = controlMapCounts();
            if (java.util.Arrays.equals(before, again)) {
                break;
            }
            before = again;
        }
        String job = """
                {"prompts": ["a house"], "control_images": ["%s"], "seeds": [%s], "steps": 2, "width": 64, "height": 64,
                 "preprocessor": "canny", "preprocessor_params": {"low": 50, "high": 150}}
                """.formatted(key, java.util.stream.IntStream.range(0, 20).mapToObj(Integer::toString)
                .collect(java.util.stream.Collectors.joining(",")));
        String jobId = client.submit(job, null, false).get("job_id").asText();
        Map<Integer, String> digests = awaitDigests(jobId);
        assertThat(digests).hasSize(20);
        long deadline = System.currentTimeMillis() + 20_000;
        long[] after = controlMapCounts();
        while (after[0] + after[1] - before[0] - before[1] < 20 && System.currentTimeMillis() < deadline) {
            Thread.sleep(250);
            after = controlMapCounts();
        }
        assertThat(after[0] - before[0]).as("control maps made").isEqualTo(1);
        assertThat(after[1] - before[1]).as("control maps found in the cache").isEqualTo(19);
        try (ObjectStore store = new MinioObjectStore(config.s3())) {
            String output = client.job(jobId).at("/tasks/7/output_key").asText();
            byte[] map = store.get(output.replace(".png", ".control0.png"));
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(map));
            assertThat(img.getWidth()).isEqualTo(64);
            JsonNode sidecar = Json.mapper().readTree(store.get(output.replace(".png", ".json")));
            assertThat(sidecar.at("/controlnets/0/preprocessor").asText()).isEqualTo("canny");
            assertThat(sidecar.at("/controlnets/0/preprocessor_params/low").asText()).isEqualTo("50");
        }
    }

    /** [made, cache hits] of the e2e worker, from its last heartbeat. */
    private long[] controlMapCounts() {
        for (JsonNode w : client.workers().get("workers")) {
            if (w.get("worker_id").asText().equals("e2e-worker")) {
                return new long[] {w.get("control_maps_made").asLong(), w.get("control_map_cache_hits").asLong()};
            }
        }
        return new long[] {0, 0};
    }

    @Test
    void badPreprocessorSettingsAreRefusedAtSubmit() {
        String key = "uploads/default/" + "0".repeat(64);
        assertThatThrownBy(() -> client.submit("{\"prompts\":[\"x\"],\"control_images\":[\"" + key + "\"],\"preprocessor\":\"sharpen\"}",
                null, true)).hasMessageContaining("preprocessor").hasMessageContaining("canny");
        assertThatThrownBy(() -> client.submit("{\"prompts\":[\"x\"],\"control_images\":[\"" + key + "\"],\"preprocessor\":\"canny\","
                + "\"preprocessor_params\":{\"low\":999}}", null, true)).hasMessageContaining("preprocessor_params").hasMessageContaining("1 to 255");
    }

    @Test
    void workersAreListedFromTheirHeartbeats() throws Exception {
        long deadline = System.currentTimeMillis() + 30_000;
        JsonNode workers = client.workers().get("workers");
        while (workers.isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(200);
            workers = client.workers().get("workers");
        }
        assertThat(workers).anySatisfy(w -> {
            assertThat(w.get("worker_id").asText()).isEqualTo("e2e-worker");
            assertThat(w.get("healthy").asBoolean()).isTrue();
            assertThat(w.get("execution_provider").asText()).isEqualTo("CPU");
            assertThat(w.get("loaded_models").toString()).contains("tiny").contains("skeleton");
        });
        java.io.StringWriter out = new java.io.StringWriter();
        picocli.CommandLine cl = dev.cnfarm.cli.FarmCommand.commandLine();
        cl.setOut(new java.io.PrintWriter(out, true));
        assertThat(cl.execute("workers", "--api", client.baseUrl(), "--set", "api.token=" + token)).isZero();
        assertThat(out.toString()).contains("e2e-worker").contains("tiny").contains("CPU");
    }

    @Test
    void cliRefusesABadJobWithExitCode4AndNamesTheField() throws Exception {
        Path job = Files.createTempFile("bad-job", ".yaml");
        Files.writeString(job, "prompts: [x]\ncontrol_images: [" + Path.of("../samples/control/face.png").toAbsolutePath() + "]\nsteps: -1\n");
        java.io.StringWriter err = new java.io.StringWriter();
        picocli.CommandLine cl = dev.cnfarm.cli.FarmCommand.commandLine();
        cl.setErr(new java.io.PrintWriter(err, true));
        int code = cl.execute("submit", job.toString(), "--api", client.baseUrl(), "--set", "api.token=" + token);
        assertThat(code).isEqualTo(dev.cnfarm.cli.FarmCommand.REFUSED);
        assertThat(err.toString()).contains("steps").contains("between 1 and 150");
    }

    @Test
    void tokenCommandsCreateListAndRevokeAndRefuseABadTenantOrAnUnknownId() throws Exception {
        String[] kafka = {"--set", "kafka.bootstrap-servers=" + config.kafka().bootstrapServers(),
                "--set", "kafka.topic-prefix=" + config.kafka().topicPrefix()};
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        picocli.CommandLine cl = dev.cnfarm.cli.FarmCommand.commandLine();
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setErr(new java.io.PrintWriter(err, true));
        assertThat(cl.execute(concat(new String[] {"tokens", "create", "--tenant", "Bad Tenant"}, kafka))).isEqualTo(2);
        assertThat(err.toString()).contains("--tenant").contains("lowercase letters");
        assertThat(cl.execute(concat(new String[] {"tokens", "revoke", "ffffffffffffffff"}, kafka))).isEqualTo(1);
        assertThat(err.toString()).contains("no token with id 'ffffffffffffffff'");

        assertThat(cl.execute(concat(new String[] {"tokens", "create", "--tenant", "cli-team", "--name", "from the CLI"}, kafka))).isZero();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("farm_([0-9a-f]{16})_[A-Za-z0-9_-]{43}").matcher(out.toString());
        assertThat(m.find()).as(out.toString()).isTrue();
        String made = m.group();
        String id = m.group(1);
        // the coordinator's feed picks it up from Kafka
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> coordinator.tokens().authenticate(made).isPresent());
        assertThat(cl.execute(concat(new String[] {"tokens", "list"}, kafka))).isZero();
        assertThat(out.toString()).contains(id).contains("cli-team").contains("from the CLI");
        assertThat(cl.execute(concat(new String[] {"tokens", "revoke", id}, kafka))).isZero();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> coordinator.tokens().authenticate(made).isEmpty());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    @Test
    void dryRunQuotesBeforeAnythingIsUploaded() throws Exception {
        Path image = Files.createTempFile("fresh", ".png");
        Files.write(image, new byte[] {(byte) 0x89, 'P', 'N', 'G', 42, 43, 44});
        Path job = Files.createTempFile("quote", ".yaml");
        Files.writeString(job, "prompts: [a, b, c]\ncontrol_images: [" + image + "]\nseeds: [1, 2]\n");
        int before = coordinator.view().jobCount();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.PrintStream saved = System.out;
        int code;
        try {
            System.setOut(new java.io.PrintStream(out, true));
            code = dev.cnfarm.cli.FarmCommand.commandLine().execute("submit", job.toString(), "--dry-run", "--api", client.baseUrl(), "--set", "api.token=" + token);
        } finally {
            System.setOut(saved);
        }
        assertThat(code).isZero();
        assertThat(out.toString()).contains("quote: 6 images").contains("1 control image(s) to upload");
        assertThat(coordinator.view().jobCount()).isEqualTo(before);
        assertThat(client.locate(image).get("exists").asBoolean()).as("a quote uploads nothing").isFalse();
    }

    @Test
    void cliRefusesAMissingLocalImageBeforeSendingAnything() throws Exception {
        Path job = Files.createTempFile("missing-image", ".yaml");
        Files.writeString(job, "prompts: [x]\ncontrol_images: [no-such-file.png]\n");
        int before = coordinator.view().jobCount();
        java.io.StringWriter err = new java.io.StringWriter();
        picocli.CommandLine cl = dev.cnfarm.cli.FarmCommand.commandLine();
        cl.setErr(new java.io.PrintWriter(err, true));
        int code = cl.execute("submit", job.toString(), "--api", client.baseUrl(), "--set", "api.token=" + token);
        assertThat(code).isEqualTo(dev.cnfarm.cli.FarmCommand.USAGE);
        assertThat(err.toString()).contains("control_images[0]").contains("no-such-file.png");
        assertThat(coordinator.view().jobCount()).isEqualTo(before);
    }

    @Test
    void aJobWithABrokenControlImageEndsFailedWithTheReason() throws Exception {
        Path junk = Files.createTempFile("not-an-image", ".png");
        Files.writeString(junk, "definitely not a PNG");
        String key = client.upload(junk);
        JsonNode answer = client.submit("{\"prompts\":[\"x\"],\"control_images\":[\"" + key + "\"],\"steps\":2,\"width\":64,\"height\":64}",
                null, false);
        String jobId = answer.get("job_id").asText();
        long deadline = System.currentTimeMillis() + Duration.ofSeconds(60).toMillis();
        JsonNode job = client.job(jobId);
        while (!job.at("/job/state").asText().equals("failed") && System.currentTimeMillis() < deadline) {
            Thread.sleep(200);
            job = client.job(jobId);
        }
        assertThat(job.at("/job/state").asText()).isEqualTo("failed");
        assertThat(job.at("/tasks/0/error").asText()).startsWith("bad_input").contains("image");
        // bytes that do not decode never will: failed on the first attempt, not three times
        assertThat(job.at("/tasks/0/attempt").asInt()).isEqualTo(1);
    }
}
