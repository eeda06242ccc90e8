package dev.cnfarm.loadtests.batch;

import ai.onnxruntime.OrtEnvironment;
import dev.cnfarm.common.config.SessionSettings;
import dev.cnfarm.loadtests.report.Charts;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.GeneratedBundles;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.worker.engine.ControlMode;
import dev.cnfarm.worker.engine.ControlUnit;
import dev.cnfarm.worker.engine.ExecutionProviders;
import dev.cnfarm.worker.engine.SdRenderer;
import dev.cnfarm.worker.render.ItemResult;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.StepListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Micro-batching on the CPU: time per image when a worker computes 1, 2, 4 or 8 images in one
 * UNet run per step, on the tiny bundle at two sizes (rounds interleaved, so drift of the host
 * touches every batch size alike) and, unless {@code --skip-sd15}, one step of the SD1.5-sized
 * bundle at batch 1 and 2 without guidance (a UNet batch of 1 and 2: with guidance, a batch of 2
 * is a UNet batch of 4, whose 512x512 activations do not fit in this machine's 24 GiB beside the
 * fp32 weights). Each batch's images are also compared with the same requests rendered alone
 * (they must match to the bit).
 */
public final class BatchBenchmark {
    private static final int[] SIZES = {1, 2, 4, 8};

    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        boolean sd15 = true;
        int rounds = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root" -> root = Path.of(args[++i]);
                case "--skip-sd15" -> sd15 = false;
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + "; known: --root DIR, --skip-sd15, --rounds N");
            }
        }
        Path work = root.resolve(".farm/bench");
        Path reportDir = root.resolve("load-tests/reports/batch");
        Files.createDirectories(work);
        Files.createDirectories(reportDir);
        StringBuilder md = new StringBuilder("# Micro-batching\n\nRun ").append(LocalDateTime.now().withNano(0)).append(" on ")
                .append(Runtime.getRuntime().availableProcessors()).append(" cores, ONNX Runtime ")
                .append(OrtEnvironment.getEnvironment().getVersion()).append(" (CPU). Random weights; guidance 7.5 (so a batch of n images is a "
                        + "UNet batch of 2n), Euler, one ControlNet over all steps, a different prompt, seed and control image per image. "
                        + "Median (fastest) of ").append(rounds).append(" interleaved rounds.\n\n");
        Map<String, Double> chart = new LinkedHashMap<>();

        try (SdRenderer tiny = new SdRenderer(GeneratedBundles.tiny(work.resolve("models")), ExecutionProviders.cpu(), SessionSettings.defaults(), 256)) {
            for (int side : new int[] {256, 512}) {
                int steps = 20;
                tiny.renderBatch(requests(8, side, 2), listeners(8)); // warm-up at the largest batch
                double[][] perImage = new double[SIZES.length][rounds];
                for (int round = 0; round < rounds; round++) {
                    for (int s = 0; s < SIZES.length; s++) {
                        int n = SIZES[s];
                        long t0 = System.nanoTime();
                        tiny.renderBatch(requests(n, side, steps), listeners(n));
                        perImage[s][round] = (System.nanoTime() - t0) / 1e6 / n;
                    }
                }
                boolean identical = identicalToAlone(tiny, requests(4, side, 4));
                md.append(String.format("## Tiny bundle, %dx%d, %d steps%n%n| batch | ms per image | images/s | against batch 1 |%n|---|---|---|---|%n",
                        side, side, steps));
                double base = median(perImage[0]);
                for (int s = 0; s < SIZES.length; s++) {
                    double m = median(perImage[s]);
                    md.append(String.format("| %d | %.1f (%.1f) | %.2f | %.2fx |%n", SIZES[s], m, min(perImage[s]), 1000 / m, base / m));
                    chart.put("tiny " + side + "x" + side + ", batch " + SIZES[s], base / m);
                }
                md.append(String.format("%nImages of a batch of 4 against the same requests alone: **%s**.%n%n",
                        identical ? "identical to the bit" : "DIFFERENT"));
            }
        }

        Files.writeString(reportDir.resolve("README.md"), md); // in case the SD1.5 part does not finish
        if (sd15) {
            Path dir = work.resolve("sd15-fp32");
            ModelBundle bundle = Files.exists(dir.resolve("manifest.json")) ? ModelBundle.open(dir)
                    : BundleBuilder.build(dir, new BundleBuilder.Options("sd15", ModelPreset.sd15(), 1, GraphBuilder.Storage.FP32, null),
                            new RandomWeights(20230210L, true), "random", (d, t, g) -> { });
            try (SdRenderer r = new SdRenderer(bundle, ExecutionProviders.cpu(), SessionSettings.defaults(), 16)) {
                r.renderBatch(unguided(1), listeners(1)); // loads the controlled graph
                int[] sizes = {1, 2};
                double[][] perImage = new double[sizes.length][rounds];
                for (int round = 0; round < rounds; round++) {
                    for (int s = 0; s < sizes.length; s++) {
                        int n = sizes[s];
                        List<ItemResult> out = r.renderBatch(unguided(n), listeners(n));
                        perImage[s][round] = out.get(0).orThrow().timingsMs().get("steps") / (double) n;
                    }
                }
                boolean identical = identicalToAlone(r, unguided(2));
                md.append("## SD1.5-sized bundle, 512x512, one step without guidance (UNet batch = images)\n\n"
                        + "| batch | step time per image | against batch 1 |\n|---|---|---|\n");
                for (int s = 0; s < sizes.length; s++) {
                    double m = median(perImage[s]);
                    md.append(String.format("| %d | %.2f s (%.2f) | %.2fx |%n", sizes[s], m / 1000, min(perImage[s]) / 1000, median(perImage[0]) / m));
                    chart.put("sd15 512x512 step, batch " + sizes[s], median(perImage[0]) / m);
                }
                md.append(String.format("%nImages of a batch of 2 against the same requests alone (one step, then the VAE): **%s**.%n%n",
                        identical ? "identical to the bit" : "DIFFERENT"));
            }
            ModelBundle.deleteQuietly(dir);
        }
        Charts.bars(reportDir.resolve("batch.png"), "Images per second against batch 1 (CPU; above 1: batching pays)", "speed-up", chart);
        md.append("![batch](batch.png)\n");
        Files.writeString(reportDir.resolve("README.md"), md);
        System.out.println(md);
    }

    private static boolean identicalToAlone(SdRenderer r, List<RenderRequest> reqs) {
        List<ItemResult> together = r.renderBatch(reqs, listeners(reqs.size()));
        for (int i = 0; i < reqs.size(); i++) {
            if (!Arrays.equals(together.get(i).orThrow().rgb(), r.render(reqs.get(i), StepListener.NONE).rgb())) {
                return false;
            }
        }
        return true;
    }

    /** n requests of one 512x512 step at guidance 1 (no unconditional half). */
    private static List<RenderRequest> unguided(int n) {
        return requests(n, 512, 1).stream().map(q -> new RenderRequest(q.prompt(), q.negativePrompt(), q.controls(), false, q.seed(),
                q.steps(), q.width(), q.height(), 1f, q.scheduler(), 0)).toList();
    }

    private static List<RenderRequest> requests(int n, int side, int steps) {
        List<RenderRequest> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new RenderRequest("image " + i + " of a batch", "blurry",
                    List.of(new ControlUnit(controlImage(side, i), 1, 0, 1, ControlMode.BALANCED)), false, 100 + i, steps, side, side, 7.5f,
                    "euler", 0));
        }
        return out;
    }

    private static List<StepListener> listeners(int n) {
        return Collections.nCopies(n, StepListener.NONE);
    }

    private static float[] controlImage(int size, int seed) {
        float[] c = new float[3 * size * size];
        Random r = new Random(seed);
        for (int i = 0; i < c.length; i++) {
            c[i] = r.nextFloat() < 0.1f ? 1f : 0f;
        }
        return c;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }
}
