package dev.cnfarm.loadtests.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.loadtests.report.Charts;
import dev.cnfarm.loadtests.report.Stopwatch;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.GeneratedBundles;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.worker.engine.BundleSessions;
import dev.cnfarm.worker.engine.ControlMode;
import dev.cnfarm.worker.engine.ControlUnit;
import dev.cnfarm.worker.engine.ExecutionProviders;
import dev.cnfarm.worker.engine.SdRenderer;
import dev.cnfarm.worker.render.RenderOutput;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.StepListener;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The sampling engine's own costs, in one run: engine step time against a bare loop of session
 * runs on the same merged graph (the engine's overhead), the time a half-length ControlNet window
 * saves, prompt-cache hits against misses, tiny-bundle images per second, and (unless
 * {@code --skip-sd15}) one full 20-step 512x512 SD1.5 image on the CPU split into text, steps and VAE.
 */
public final class EngineBenchmark {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        boolean sd15 = true;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--root")) {
                root = Path.of(args[++i]);
            } else if (args[i].equals("--skip-sd15")) {
                sd15 = false;
            }
        }
        Path work = root.resolve(".farm/bench");
        Path reportDir = root.resolve("load-tests/reports/engine");
        Files.createDirectories(work);
        Files.createDirectories(reportDir);
        int cores = Runtime.getRuntime().availableProcessors();
        StringBuilder md = new StringBuilder("# Sampling engine\n\nRun ").append(LocalDateTime.now().withNano(0)).append(" on ")
                .append(cores).append(" cores, ONNX Runtime ").append(OrtEnvironment.getEnvironment().getVersion())
                .append(" (CPU). Random weights; classifier-free guidance (batch 2), Euler, one ControlNet.\n\n");
        Map<String, Double> chart = new LinkedHashMap<>();

        try (SdRenderer tiny = new SdRenderer(GeneratedBundles.tiny(work.resolve("models")), ExecutionProviders.cpu(), dev.cnfarm.common.config.SessionSettings.defaults(), 256)) {
            float[] control512 = controlImage(512);
            // warm up both graphs and the VAE
            tiny.render(request(control512, 512, 4, 0, 1, "warm up"), StepListener.NONE);
            tiny.render(request(control512, 512, 4, 0.5f, 1, "warm up"), StepListener.NONE);

            // 1. overhead: engine step against bare runs of the same merged graph with the same inputs
            int steps = 20;
            double bare = bareControlledRun(work.resolve("models/tiny"), 512, 30);
            RenderOutput full = null;
            double best = Double.MAX_VALUE;
            for (int k = 0; k < 3; k++) {
                RenderOutput o = tiny.render(request(control512, 512, steps, 0, 1, "overhead " + k), StepListener.NONE);
                double perStep = o.timingsMs().get("steps") / (double) steps;
                if (perStep < best) {
                    best = perStep;
                    full = o;
                }
            }
            double ratio = best / bare;
            md.append("## Engine overhead (tiny bundle, 512x512, controlled graph every step)\n\n")
                    .append(String.format("| bare session run | engine step | ratio |%n|---|---|---|%n| %.2f ms | %.2f ms | **%.3f** |%n%n", bare, best, ratio))
                    .append("The engine step includes the scheduler update, classifier-free guidance, tensor set-up and the "
                            + "timestep; the bare run is `session.run` on fixed inputs with the same pinned output.\n\n");

            // 2. control window: 0..0.5 against 0..1
            Stopwatch.Timing window1 = Stopwatch.time(1, 3, () -> tiny.render(request(control512, 512, steps, 0, 1, "w"), StepListener.NONE));
            Stopwatch.Timing windowHalf = Stopwatch.time(1, 3, () -> tiny.render(request(control512, 512, steps, 0, 0.5f, "w"), StepListener.NONE));
            int controlledHalf = tiny.render(request(control512, 512, steps, 0, 0.5f, "w"), StepListener.NONE).controlledSteps();
            md.append("## Control window (tiny bundle, 512x512, 20 steps)\n\n| window | image time (median of 3) | controlled steps |\n|---|---|---|\n")
                    .append(String.format("| 0.0 to 1.0 | %.3f s | %d |%n| 0.0 to 0.5 | %.3f s | %d |%n%nTime saved by the half window: **%.1f %%**.%n%n",
                            window1.median(), steps, windowHalf.median(), controlledHalf,
                            100 * (1 - windowHalf.median() / window1.median())));

            // 3. prompt cache
            int n = 20;
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                tiny.textEncoder().encode("a prompt the cache has not seen " + i);
            }
            double miss = (System.nanoTime() - t0) / 1e6 / n;
            t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                tiny.textEncoder().encode("a prompt the cache has not seen " + i);
            }
            double hit = (System.nanoTime() - t0) / 1e6 / n;
            md.append("## Prompt cache (tiny text encoder)\n\n| lookup | time per prompt |\n|---|---|\n")
                    .append(String.format("| miss (tokenize + encode) | %.3f ms |%n| hit | %.4f ms |%n%n", miss, hit));

            // 4. images per second at the demo's settings
            float[] control256 = controlImage(256);
            int images = 10;
            long i0 = System.nanoTime();
            for (int i = 0; i < images; i++) {
                tiny.render(new RenderRequest("image " + i, "blurry", List.of(new ControlUnit(control256, 1, 0, 1, ControlMode.BALANCED)), false,
                        i, 20, 256, 256, 7.5f, "euler", 0), StepListener.NONE);
            }
            double ips = images / ((System.nanoTime() - i0) / 1e9);
            md.append(String.format("## Tiny bundle throughput%n%n%d images, 256x256, 20 steps, guidance 7.5, one ControlNet: **%.2f images/s** on one worker.%n%n", images, ips));
            chart.put("tiny: bare run (ms)", bare);
            chart.put("tiny: engine step (ms)", best);
        }

        if (sd15) {
            Path dir = work.resolve("sd15-fp32");
            ModelBundle bundle;
            if (Files.exists(dir.resolve("manifest.json"))) {
                bundle = ModelBundle.open(dir);
            } else {
                bundle = BundleBuilder.build(dir, new BundleBuilder.Options("sd15", ModelPreset.sd15(), 1, GraphBuilder.Storage.FP32, null),
                        new RandomWeights(20230210L, true), "random", (d, t, g) -> { });
            }
            long l0 = System.nanoTime();
            try (SdRenderer r = new SdRenderer(bundle, ExecutionProviders.cpu(), dev.cnfarm.common.config.SessionSettings.defaults(), 16)) {
                double load = (System.nanoTime() - l0) / 1e9;
                float[] control = controlImage(512);
                long r0 = System.nanoTime();
                RenderOutput o = r.render(request(control, 512, 20, 0, 1, "a full sd15 image"), StepListener.NONE);
                double total = (System.nanoTime() - r0) / 1e9;
                Map<String, Long> t = o.timingsMs();
                md.append("## One SD1.5 image on the CPU (512x512, 20 steps, guidance 7.5, one ControlNet over all steps)\n\n")
                        .append("| phase | time |\n|---|---|\n")
                        .append(String.format("| text encoder (prompt and negative prompt) | %.2f s |%n", t.get("text") / 1e3))
                        .append(String.format("| 20 denoising steps | %.1f s (%.2f s a step) |%n", t.get("steps") / 1e3, t.get("steps") / 20e3))
                        .append(String.format("| VAE decode | %.2f s |%n", t.get("vae") / 1e3))
                        .append(String.format("| total | %.1f s |%n%n", total))
                        .append(String.format("Loading the text encoder and VAE sessions took %.1f s; the controlled UNet graph loads on its first step "
                                + "(inside the step time above).%n%n", load));
                chart.put("sd15: text (s x100)", t.get("text") / 10.0);
            }
            ModelBundle.deleteQuietly(dir);
        }
        Charts.bars(reportDir.resolve("engine.png"), "Sampling engine on CPU", "milliseconds", chart);
        md.append("![engine](engine.png)\n");
        Files.writeString(reportDir.resolve("README.md"), md);
        System.out.println(md);
    }

    private static RenderRequest request(float[] control, int size, int steps, float start, float end, String prompt) {
        return new RenderRequest(prompt, "blurry", List.of(new ControlUnit(control, 1, start, end, ControlMode.BALANCED)), false, 42, steps,
                size, size, 7.5f, "euler", 0);
    }

    private static float[] controlImage(int size) {
        float[] c = new float[3 * size * size];
        Random r = new Random(1);
        for (int i = 0; i < c.length; i++) {
            c[i] = r.nextFloat() < 0.1f ? 1f : 0f;
        }
        return c;
    }

    /** Median milliseconds of the controlled graph run alone on fixed inputs, batch 2, with a pinned output. */
    private static double bareControlledRun(Path bundleDir, int size, int runs) throws Exception {
        ModelBundle bundle = ModelBundle.open(bundleDir);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int h = size / 8;
        try (BundleSessions s = new BundleSessions(dev.cnfarm.worker.engine.SdModel.of(bundle), ExecutionProviders.cpu(), dev.cnfarm.common.config.SessionSettings.defaults())) {
            OrtSession session = s.controlledUnet();
            Random r = new Random(2);
            float[] sample = new float[2 * 4 * h * h];
            for (int i = 0; i < sample.length; i++) {
                sample[i] = (float) r.nextGaussian();
            }
            float[] ctx = new float[2 * 77 * s.contextDim()];
            float[] img = controlImage(size);
            float[] images = new float[2 * img.length];
            System.arraycopy(img, 0, images, 0, img.length);
            System.arraycopy(img, 0, images, img.length, img.length);
            float[] scales = new float[2 * s.residualScales()];
            java.util.Arrays.fill(scales, 1f);
            FloatBuffer outBuf = java.nio.ByteBuffer.allocateDirect(sample.length * 4).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
            try (OnnxTensor a = OnnxTensor.createTensor(env, FloatBuffer.wrap(sample), new long[] {2, 4, h, h});
                 OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {500}), new long[] {1});
                 OnnxTensor c = OnnxTensor.createTensor(env, FloatBuffer.wrap(ctx), new long[] {2, 77, s.contextDim()});
                 OnnxTensor im = OnnxTensor.createTensor(env, FloatBuffer.wrap(images), new long[] {1, 2, 3, size, size});
                 OnnxTensor sc = OnnxTensor.createTensor(env, FloatBuffer.wrap(scales), new long[] {1, 2, s.residualScales()});
                 OnnxTensor out = OnnxTensor.createTensor(env, outBuf, new long[] {2, 4, h, h})) {
                Map<String, OnnxTensor> in = new HashMap<>();
                in.put(ModelGraphs.SAMPLE, a);
                in.put(ModelGraphs.TIMESTEP, t);
                in.put(ModelGraphs.CONTEXT, c);
                in.put(ModelGraphs.CONTROL_IMAGES, im);
                in.put(ModelGraphs.CONTROL_SCALES, sc);
                return Stopwatch.time(3, runs, () -> session.run(in, Set.of(), Map.<String, OnnxValue>of(ModelGraphs.NOISE_PRED, out)).close())
                        .median() * 1000;
            }
        }
    }
}
