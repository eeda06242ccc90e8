package dev.cnfarm.loadtests.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.loadtests.report.Charts;
import dev.cnfarm.loadtests.report.Stopwatch;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.arch.RefSize;
import dev.cnfarm.models.arch.UNet;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.bundle.ModelDescription;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.Init;
import dev.cnfarm.models.onnx.ParamWriters;
import dev.cnfarm.models.onnx.Value;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto.DataType;
import dev.cnfarm.models.weights.RandomWeights;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One SD1.5 denoising step on ONNX Runtime (CPU): the plain UNet and the UNet with one ControlNet,
 * 512x512 with classifier-free guidance (batch 2), with random weights (the cost does not depend
 * on weight values). Timed in the same run as a 2048^3 matrix product, the machine's practical
 * peak, before and after, so the GFLOP/s of each case can be read against it. Also measures
 * building the sd15 bundle in fp32 and fp16.
 */
public final class Sd15StepBenchmark {
    private static final int N = 2048;

    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        boolean keep = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--root")) {
                root = Path.of(args[++i]);
            } else if (args[i].equals("--keep-bundles")) {
                keep = true;
            }
        }
        Path work = root.resolve(".farm/bench");
        Path reportDir = root.resolve("load-tests/reports/sd15-step");
        Files.createDirectories(work);
        Files.createDirectories(reportDir);
        ModelPreset sd15 = ModelPreset.sd15();
        StringBuilder md = new StringBuilder();
        md.append("# SD1.5 step on ONNX Runtime (CPU)\n\n")
                .append("Run ").append(LocalDateTime.now().withNano(0)).append(" on ").append(Runtime.getRuntime().availableProcessors())
                .append(" cores; ONNX Runtime ").append(OrtEnvironment.getEnvironment().getVersion())
                .append(", CPU execution provider, all graph optimisations, intra-op threads = cores. Random weights.\n\n");

        // 1. bundle builds
        Map<String, double[]> builds = new LinkedHashMap<>();
        Path fp32 = work.resolve("sd15-fp32");
        for (GraphBuilder.Storage dtype : GraphBuilder.Storage.values()) {
            Path dir = work.resolve("sd15-" + dtype.name().toLowerCase());
            ModelBundle.deleteQuietly(dir);
            long t0 = System.nanoTime();
            ModelBundle b = BundleBuilder.build(dir, new BundleBuilder.Options("sd15", sd15, 1, dtype, null),
                    new RandomWeights(20230210L, true), "random", (d, t, g) -> { });
            double s = (System.nanoTime() - t0) / 1e9;
            builds.put(dtype.name().toLowerCase(), new double[] {s, b.totalBytes()});
            System.out.printf("built sd15 %s bundle in %.1f s, %,d bytes%n", dtype, s, b.totalBytes());
            if (dtype == GraphBuilder.Storage.FP16 && !keep) {
                ModelBundle.deleteQuietly(dir);
            }
        }
        md.append("## Building the sd15 bundle (1 ControlNet: text encoder, UNet, controlled UNet, VAE decoder and encoder)\n\n")
                .append("| dtype | build time | size on disk |\n|---|---|---|\n");
        builds.forEach((k, v) -> md.append(String.format("| %s | %.1f s | %,d bytes (%.2f GB) |%n", k, v[0], (long) v[1], v[1] / 1e9)));

        // 2. steps, between two matrix-product references
        ModelBundle bundle = ModelBundle.open(fp32);
        double gflopPlain = ModelDescription.describe(sd15, 1, 2, 512, 512).graphs().stream()
                .filter(g -> g.role().equals(BundleBuilder.UNET)).findFirst().orElseThrow().gflops();
        double gflopControlled = ModelDescription.describe(sd15, 1, 2, 512, 512).graphs().stream()
                .filter(g -> g.role().equals(BundleBuilder.CONTROLLED_UNET)).findFirst().orElseThrow().gflops();
        double matmulGflop = 2.0 * N * N * N / 1e9;

        Stopwatch.Timing mm1 = matmul();
        System.out.printf("matmul %d^3: %.3f s median%n", N, mm1.median());
        double[] plainLoad = new double[1];
        Stopwatch.Timing plain = step(bundle.graph(BundleBuilder.UNET), false, plainLoad);
        System.out.printf("plain UNet step: %.2f s median (session %.1f s)%n", plain.median(), plainLoad[0]);
        double[] controlledLoad = new double[1];
        Stopwatch.Timing controlled = step(bundle.graph(BundleBuilder.CONTROLLED_UNET), true, controlledLoad);
        System.out.printf("controlled UNet step: %.2f s median (session %.1f s)%n", controlled.median(), controlledLoad[0]);
        Stopwatch.Timing mm2 = matmul();
        double peak = matmulGflop / Math.min(mm1.median(), mm2.median());

        md.append("\n## One denoising step, 512x512, batch 2 (classifier-free guidance)\n\n")
                .append("| case | GFLOP | median | min .. max | GFLOP/s | share of matmul rate |\n|---|---|---|---|---|---|\n");
        row(md, "MatMul 2048^3 (before)", matmulGflop, mm1, peak);
        row(md, "plain UNet", gflopPlain, plain, peak);
        row(md, "UNet + 1 ControlNet (merged graph)", gflopControlled, controlled, peak);
        row(md, "MatMul 2048^3 (after)", matmulGflop, mm2, peak);
        md.append(String.format("%nControlled / plain step time: **%.3f** (FLOP ratio %.3f). Session creation: plain %.1f s, controlled %.1f s.%n",
                controlled.median() / plain.median(), gflopControlled / gflopPlain, plainLoad[0], controlledLoad[0]));
        md.append("\nGFLOP counts convolutions, linear layers and attention products (one multiply-accumulate = 2 FLOP), "
                + "from `farm models describe`; norms, softmax and element-wise work are not counted, so the rates understate the work done.\n");
        Map<String, Double> chart = new LinkedHashMap<>();
        chart.put("MatMul 2048^3 (before)", matmulGflop / mm1.median());
        chart.put("plain UNet step", gflopPlain / plain.median());
        chart.put("UNet + ControlNet step", gflopControlled / controlled.median());
        chart.put("MatMul 2048^3 (after)", matmulGflop / mm2.median());
        Charts.bars(reportDir.resolve("gflops.png"), "SD1.5 512x512 batch 2 on CPU: GFLOP/s", "GFLOP/s", chart);
        md.append("\n![GFLOP/s](gflops.png)\n");
        Files.writeString(reportDir.resolve("README.md"), md);
        System.out.println(md);
        if (!keep) {
            ModelBundle.deleteQuietly(fp32);
        }
    }

    private static void row(StringBuilder md, String name, double gflop, Stopwatch.Timing t, double peak) {
        double rate = gflop / t.median();
        md.append(String.format("| %s | %.1f | %.3f s | %.3f .. %.3f s | %.1f | %.2f |%n", name, gflop, t.median(), t.min(), t.max(), rate, rate / peak));
    }

    private static OrtSession.SessionOptions options() throws Exception {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        o.setIntraOpNumThreads(Runtime.getRuntime().availableProcessors());
        return o;
    }

    /** C = A x B with A an input and B a weight, both 2048 x 2048. */
    private static Stopwatch.Timing matmul() throws Exception {
        GraphBuilder g = new GraphBuilder("matmul");
        Value a = g.input("a", DataType.FLOAT, new long[] {N, N}, N, N);
        Value b = g.param("ref", "b", new long[] {N, N}, Init.WEIGHT, N);
        g.output(g.node("MatMul", List.of(a, b), new long[] {N, N}), "c", N, N);
        byte[] model = g.build(ParamWriters.inline(new RandomWeights(1, true), GraphBuilder.Storage.FP32), "reference", Map.of()).toByteArray();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[] data = new float[N * N];
        SplittableRandom r = new SplittableRandom(2);
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) r.nextDouble();
        }
        try (OrtSession.SessionOptions o = options(); OrtSession s = env.createSession(model, o);
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), new long[] {N, N})) {
            return Stopwatch.time(2, 7, () -> {
                try (OrtSession.Result res = s.run(Map.of("a", in))) {
                    res.get(0);
                }
            });
        }
    }

    /** One warm-up and three timed runs of a UNet graph at 512x512, batch 2. */
    private static Stopwatch.Timing step(Path model, boolean controlled, double[] loadSeconds) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        SplittableRandom r = new SplittableRandom(3);
        RefSize size = new RefSize(2, 64, 64);
        Map<String, OnnxTensor> in = new HashMap<>();
        List<OnnxTensor> held = new ArrayList<>();
        try {
            in.put(ModelGraphs.SAMPLE, tensor(env, r, new long[] {2, 4, 64, 64}, -1, 1));
            in.put(ModelGraphs.TIMESTEP, OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {500f}), new long[] {1}));
            in.put(ModelGraphs.CONTEXT, tensor(env, r, new long[] {2, 77, 768}, -1, 1));
            if (controlled) {
                in.put(ModelGraphs.CONTROL_IMAGES, tensor(env, r, new long[] {1, 2, 3, size.imageHeight(), size.imageWidth()}, 0, 1));
                int scales = UNet.residualCount(ModelPreset.sd15().unet()) + 1;
                float[] ones = new float[2 * scales];
                java.util.Arrays.fill(ones, 1f);
                in.put(ModelGraphs.CONTROL_SCALES, OnnxTensor.createTensor(env, FloatBuffer.wrap(ones), new long[] {1, 2, scales}));
            }
            held.addAll(in.values());
            long t0 = System.nanoTime();
            try (OrtSession.SessionOptions o = options(); OrtSession s = env.createSession(model.toString(), o)) {
                loadSeconds[0] = (System.nanoTime() - t0) / 1e9;
                return Stopwatch.time(1, 3, () -> {
                    try (OrtSession.Result res = s.run(in)) {
                        res.get(0);
                    }
                });
            }
        } finally {
            held.forEach(OnnxTensor::close);
        }
    }

    private static OnnxTensor tensor(OrtEnvironment env, SplittableRandom r, long[] shape, double lo, double hi) throws Exception {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(v), shape);
    }
}
