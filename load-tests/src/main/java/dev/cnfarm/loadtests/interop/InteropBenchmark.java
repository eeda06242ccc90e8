package dev.cnfarm.loadtests.interop;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.GeneratedBundles;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.interop.ControlNetMerge;
import dev.cnfarm.models.interop.DiffusersOnnxModel;
import dev.cnfarm.models.interop.OnnxGraphs;
import dev.cnfarm.models.interop.SplitControlNet;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.loadtests.report.Charts;
import dev.cnfarm.loadtests.report.Stopwatch;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Step time of the split ControlNet form against the merged graph {@code farm models merge}
 * builds from it, on the same weights, for the tiny and the sd15 presets on this CPU: one
 * denoising step under classifier-free guidance (batch 2). Split is measured two ways: the
 * ControlNet's residual tensors handed straight to the UNet session (best case, scale 1), and
 * read into Java, scaled per residual and made into new tensors (what per-residual scales, control
 * modes and guess mode need when the scaling is not in a graph).
 */
public final class InteropBenchmark {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        Path reportDir = null;
        List<String> presets = new ArrayList<>(List.of("tiny", "sd15"));
        int runs = 0; // 0: 40 rounds for tiny, 5 for sd15
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root" -> root = Path.of(args[++i]);
                case "--report-dir" -> reportDir = Path.of(args[++i]);
                case "--presets" -> presets = List.of(args[++i].split(","));
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + "; known: --root, --report-dir, --presets, --runs");
            }
        }
        if (reportDir == null) {
            reportDir = root.resolve("load-tests/reports/interop");
        }
        Files.createDirectories(reportDir);
        Path work = Files.createTempDirectory("interop-bench");
        List<Row> rows = new ArrayList<>();
        try {
            for (String preset : presets) {
                int n = runs > 0 ? runs : preset.equals("sd15") ? 5 : 40;
                rows.add(measure(ModelPreset.named(preset), work.resolve(preset), n));
            }
        } finally {
            ModelBundle.deleteQuietly(work);
        }
        write(reportDir, rows);
    }

    record Row(String preset, int side, double mergeSeconds, Stopwatch.Timing splitDirect, Stopwatch.Timing splitScaled,
               Stopwatch.Timing merged, long residualBytes, int runs) {}

    static Row measure(ModelPreset preset, Path dir, int runs) throws Exception {
        boolean big = preset.name().equals("sd15");
        int side = big ? 512 : 64;
        long t0 = System.nanoTime();
        SplitControlNet.build(dir, preset, new RandomWeights(GeneratedBundles.SEED, false), Storage.FP32, big);
        System.err.printf("%s: split pair built in %.1f s%n", preset.name(), (System.nanoTime() - t0) / 1e9);
        Path cnFile = dir.resolve(SplitControlNet.CONTROLNET_FILE);
        Path unetFile = dir.resolve(SplitControlNet.UNET_FILE);
        long m0 = System.nanoTime();
        Path merged = ControlNetMerge.mergeFiles(cnFile, unetFile, dir.resolve("merged/model.onnx"));
        double mergeSeconds = (System.nanoTime() - m0) / 1e9;
        int d = Integer.parseInt(OnnxGraphs.inputs(OnnxGraphs.read(unetFile)).stream()
                .filter(i -> i.name().equals(ModelGraphs.CONTEXT)).findFirst().orElseThrow().dims().get(2));
        List<String> residuals = DiffusersOnnxModel.residualsAmong(OnnxGraphs.outputs(OnnxGraphs.read(cnFile)).stream()
                .map(dev.cnfarm.models.interop.GraphIo::name).toList());
        int batch = 2;
        int latent = side / 8;
        Random r = new Random(1);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] residualBytes = {0};
        float[] scales = new float[batch * residuals.size()];
        java.util.Arrays.fill(scales, 1f);
        List<Double> direct = new ArrayList<>();
        List<Double> scaled = new ArrayList<>();
        List<Double> one = new ArrayList<>();
        // all three sessions loaded at once and the cases taken in turn, round after round, so that the machine's
        // drift (this VM's step times vary by 2x between minutes) falls on all of them alike
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions();
             OnnxTensor s = OnnxTensor.createTensor(env, FloatBuffer.wrap(gaussian(r, batch * 4 * latent * latent)), new long[] {batch, 4, latent, latent});
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {500f}), new long[] {1});
             OnnxTensor c = OnnxTensor.createTensor(env, FloatBuffer.wrap(gaussian(r, batch * 77 * d)), new long[] {batch, 77, d});
             OnnxTensor img = OnnxTensor.createTensor(env, FloatBuffer.wrap(uniform(r, batch * 3 * side * side)), new long[] {batch, 3, side, side});
             OnnxTensor imgs = OnnxTensor.createTensor(env, FloatBuffer.wrap(uniform(r, batch * 3 * side * side)),
                     new long[] {1, batch, 3, side, side});
             OnnxTensor sc = OnnxTensor.createTensor(env, FloatBuffer.wrap(scales), new long[] {1, batch, residuals.size()})) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            // tiny: all three sessions at once, the cases in turn round after round; sd15: the split pair first, then the merged
            // graph (the three sessions of an fp32 sd15 model do not fit in this machine's memory together)
            OrtSession cn = env.createSession(cnFile.toString(), o);
            OrtSession unet = env.createSession(unetFile.toString(), o);
            OrtSession m = big ? null : env.createSession(merged.toString(), o);
            boolean[] splitClosed = {false};
            try {
                Map<String, OnnxTensor> cnIn = Map.of(ModelGraphs.SAMPLE, s, ModelGraphs.TIMESTEP, t, ModelGraphs.CONTEXT, c,
                        ControlNetMerge.CONTROL_INPUT, img);
                Map<String, OnnxTensor> mergedIn = Map.of(ModelGraphs.SAMPLE, s, ModelGraphs.TIMESTEP, t, ModelGraphs.CONTEXT, c,
                        ModelGraphs.CONTROL_IMAGES, imgs, ModelGraphs.CONTROL_SCALES, sc);
                Stopwatch.Body splitDirect = () -> {
                    try (OrtSession.Result res = cn.run(cnIn)) {
                        Map<String, OnnxTensor> in = new HashMap<>();
                        for (String name : residuals) {
                            in.put(name, (OnnxTensor) res.get(name).orElseThrow());
                        }
                        in.put(ModelGraphs.SAMPLE, s);
                        in.put(ModelGraphs.TIMESTEP, t);
                        in.put(ModelGraphs.CONTEXT, c);
                        unet.run(in).close();
                    }
                };
                Stopwatch.Body splitScaled = () -> {
                    Map<String, OnnxTensor> in = new HashMap<>();
                    try (OrtSession.Result res = cn.run(cnIn)) {
                        long bytes = 0;
                        for (int k = 0; k < residuals.size(); k++) {
                            OnnxTensor v = (OnnxTensor) res.get(residuals.get(k)).orElseThrow();
                            FloatBuffer fb = v.getFloatBuffer();
                            float[] x = new float[fb.remaining()];
                            fb.get(x);
                            float scale = (float) Math.pow(0.825, residuals.size() - 1 - k); // a control mode's ramp
                            for (int i = 0; i < x.length; i++) {
                                x[i] *= scale;
                            }
                            bytes += 4L * x.length;
                            in.put(residuals.get(k), OnnxTensor.createTensor(env, FloatBuffer.wrap(x), v.getInfo().getShape()));
                        }
                        residualBytes[0] = bytes;
                    }
                    Map<String, OnnxTensor> all = new HashMap<>(in);
                    all.put(ModelGraphs.SAMPLE, s);
                    all.put(ModelGraphs.TIMESTEP, t);
                    all.put(ModelGraphs.CONTEXT, c);
                    try {
                        unet.run(all).close();
                    } finally {
                        in.values().forEach(OnnxTensor::close);
                    }
                };
                for (int round = -1; round < runs; round++) { // round -1 warms up
                    double a = Stopwatch.time(0, 1, splitDirect).median();
                    double b = Stopwatch.time(0, 1, splitScaled).median();
                    double e = m == null ? 0 : Stopwatch.time(0, 1, () -> m.run(mergedIn).close()).median();
                    if (round >= 0) {
                        direct.add(a);
                        scaled.add(b);
                        if (m != null) {
                            one.add(e);
                        }
                    }
                    if (big) {
                        System.err.printf("%s round %d: split %.2f s, split scaled %.2f s%n", preset.name(), round + 1, a, b);
                    }
                }
                if (m == null) {
                    cn.close();
                    unet.close();
                    splitClosed[0] = true;
                    try (OrtSession mm = env.createSession(merged.toString(), o)) {
                        for (int round = -1; round < runs; round++) {
                            double e = Stopwatch.time(0, 1, () -> mm.run(mergedIn).close()).median();
                            if (round >= 0) {
                                one.add(e);
                            }
                            System.err.printf("%s round %d: merged %.2f s%n", preset.name(), round + 1, e);
                        }
                    }
                }
            } finally {
                if (!splitClosed[0]) {
                    cn.close();
                    unet.close();
                }
                if (m != null) {
                    m.close();
                }
            }
        }
        ModelBundle.deleteQuietly(dir);
        return new Row(preset.name(), side, mergeSeconds, new Stopwatch.Timing(direct), new Stopwatch.Timing(scaled),
                new Stopwatch.Timing(one), residualBytes[0], runs);
    }

    private static void write(Path dir, List<Row> rows) throws Exception {
        StringBuilder md = new StringBuilder("# Split ControlNet form against the merged graph\n\nRun ").append(LocalDateTime.now().withNano(0))
                .append(" on ").append(Runtime.getRuntime().availableProcessors()).append(" cores, ONNX Runtime CPU, all graph optimisations. "
                        + "One denoising step under guidance (batch 2), the same random weights in both forms, one warm-up round; median and "
                        + "fastest of the rounds. tiny: all sessions loaded at once and the three cases run in turn, round after round; sd15: "
                        + "the split pair's rounds, then the merged graph's (the three fp32 sd15 sessions do not fit in 24 GiB together; "
                        + "this VM's step times drift by up to 2x over minutes, so the fastest round is the steadier figure). "
                        + "*split, passed on*: the ControlNet session's residual tensors go straight into the UNet "
                        + "session; *split, scaled in Java*: they are read out, scaled per residual (a control mode's ramp) and made into new "
                        + "tensors; *merged*: one session of the graph `farm models merge` writes (scales applied inside it).\n\n"
                        + "| preset | image | rounds | merge took | split, passed on | split, scaled in Java | merged | split/merged (median) "
                        + "| split/merged (fastest) | residuals per step |\n|---|---|---|---|---|---|---|---|---|---|\n");
        Map<String, Double> bars = new LinkedHashMap<>();
        for (Row r : rows) {
            md.append(String.format("| %s | %dx%d | %d | %.2f s | %s | %s | %s | %.3f / %.3f | %.3f / %.3f | %.1f MB |%n", r.preset(), r.side(),
                    r.side(), r.runs(), r.mergeSeconds(), time(r.splitDirect()), time(r.splitScaled()), time(r.merged()),
                    r.splitDirect().median() / r.merged().median(), r.splitScaled().median() / r.merged().median(),
                    r.splitDirect().min() / r.merged().min(), r.splitScaled().min() / r.merged().min(), r.residualBytes() / 1e6));
            bars.put(r.preset() + " split, passed on", r.splitDirect().median() / r.merged().median());
            bars.put(r.preset() + " split, scaled in Java", r.splitScaled().median() / r.merged().median());
            bars.put(r.preset() + " merged", 1.0);
        }
        md.append("\nRatios above 1 are what the split form costs per step. On a GPU the residuals would also cross the PCIe bus twice "
                + "when scaled on the host; here everything is in host memory.\n\n![split against merged](split-vs-merged.png)\n");
        Charts.bars(dir.resolve("split-vs-merged.png"), "Step time relative to the merged graph (1 = merged)", "step time / merged", bars);
        Files.writeString(dir.resolve("README.md"), md);
        System.out.println(md);
    }

    /** "6.12 ms (5.90)" or "15.63 s (14.80)": median and, in brackets, fastest. */
    private static String time(Stopwatch.Timing t) {
        return t.median() < 1 ? String.format("%.2f ms (%.2f)", t.median() * 1000, t.min() * 1000)
                : String.format("%.2f s (%.2f)", t.median(), t.min());
    }

    private static float[] gaussian(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    private static float[] uniform(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextFloat();
        }
        return v;
    }
}
