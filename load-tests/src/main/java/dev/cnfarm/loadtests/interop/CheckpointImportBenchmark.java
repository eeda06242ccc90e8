package dev.cnfarm.loadtests.interop;

import dev.cnfarm.loadtests.report.Charts;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.weights.OriginalLayout;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.worker.engine.noise.NoiseKind;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What bringing other tools' files costs: a full-size SD1.5 single-file checkpoint in the original
 * layout (made here with random weights, fp32, about 4 GB, the size of v1-5-pruned-emaonly's fp32
 * copy) imported into an fp16 bundle by {@code farm models import --checkpoint} in a process of its
 * own (wall time and peak resident memory), and the noise generators' time for a 512x512 latent
 * batch of 8 (one generator per image, as jobs draw).
 */
public final class CheckpointImportBenchmark {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--root")) {
                root = Path.of(args[++i]);
            } else {
                throw new IllegalArgumentException("unknown option " + args[i] + "; known: --root DIR");
            }
        }
        Path report = root.resolve("load-tests/reports/checkpoint-import");
        Path work = root.resolve(".farm/bench/checkpoint-import").toAbsolutePath();
        Files.createDirectories(report);
        dev.cnfarm.common.storage.Folders.deleteRecursively(work);
        Files.createDirectories(work);

        Map<String, Double> noiseMs = noise();
        Path ckpt = work.resolve("v1-5-random-original.safetensors");
        long t0 = System.nanoTime();
        long bytes = writeCheckpoint(ckpt);
        double writeS = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "wrote %s: %.2f GB in %.0f s%n", ckpt.getFileName(), bytes / 1e9, writeS);

        Path out = work.resolve("bundle");
        List<String> cmd = List.of("/usr/bin/time", "-v", Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx4g",
                "-jar", root.resolve("cli/target/farm.jar").toAbsolutePath().toString(), "models", "import", "--preset", "sd15", "--checkpoint",
                ckpt.toString(), "--dtype", "fp16", "--out", out.toString());
        Path log = work.resolve("import.log");
        long i0 = System.nanoTime();
        int rc = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start().waitFor();
        double importS = (System.nanoTime() - i0) / 1e9;
        String text = Files.readString(log);
        if (rc != 0) {
            throw new IllegalStateException("the import failed (" + rc + "):\n" + text);
        }
        double peakMiB = Double.NaN;
        for (String line : text.split("\n")) {
            if (line.contains("Maximum resident set size")) {
                peakMiB = Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
            }
        }
        long bundleBytes;
        try (var walk = Files.walk(out)) {
            bundleBytes = walk.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
        LoraMerge lora = loraMerge(out, work);
        StringBuilder md = new StringBuilder("# Bringing other tools' files: checkpoint import, LoRA merge and noise\n\nRun ")
                .append(LocalDateTime.now().withNano(0)).append(" on ").append(Runtime.getRuntime().availableProcessors()).append(" cores.\n\n");
        md.append(String.format(Locale.ROOT, "A full-size SD1.5 single-file checkpoint in the original layout (UNet, VAE and text encoder "
                + "under model.diffusion_model., first_stage_model., cond_stage_model.transformer.; random weights, fp32): %.2f GB, written in "
                + "%.0f s. `farm models import --preset sd15 --checkpoint ... --dtype fp16` in its own process: **%.0f s**, peak resident "
                + "memory **%.0f MiB** (the file is memory-mapped and read tensor by tensor; the JVM's heap is capped at 4 GiB), bundle "
                + "%.2f GB.%n%n", bytes / 1e9, writeS, importS, peakMiB, bundleBytes / 1e9));
        md.append(lora.markdown());
        md.append("Noise for a 512x512 latent batch of 8 (8 x [4, 64, 64], one generator per image), median of 20:\n\n| generator | ms | vs farm |\n|---|---|---|\n");
        double farm = noiseMs.get("farm");
        noiseMs.forEach((k, v) -> md.append(String.format(Locale.ROOT, "| %s | %.2f | %.2fx |%n", k, v, v / farm)));
        md.append("\n![noise time](noise-ms.png)\n\nThe import's own lines and /usr/bin/time's:\n\n```\n").append(text.lines()
                .filter(l -> l.startsWith("note:") || l.startsWith("imported") || l.contains("Elapsed (wall") || l.contains("Maximum resident"))
                .map(String::strip).reduce((a, b) -> a + "\n" + b).orElse("")).append("\n```\n");
        Charts.bars(report.resolve("noise-ms.png"), "Noise for 8 latents of 4x64x64 (ms)", "ms", noiseMs);
        Files.writeString(report.resolve("report.md"), md);
        System.out.println("report: " + report.resolve("report.md"));
        dev.cnfarm.common.storage.Folders.deleteRecursively(work);
    }

    /** What merging a job's LoRA into the imported sd15 bundle costs a worker. */
    private record LoraMerge(int layers, long params, double fileMb, double baseOpenS, double mergeS, double hitMs, String log) {
        String markdown() {
            return String.format(Locale.ROOT, "A job's LoRA merged by a worker into that sd15 fp16 bundle: a kohya file of rank 32 for "
                    + "the layers kohya's trainer adapts by default (the UNet's attention projections, proj_in/proj_out and feed-forward "
                    + "layers; the text encoder's attention and MLP), %d layers, %,d parameters changed, %.1f MB fp16. First task of the "
                    + "set (read the weights back, merge, write the graph copies, open the text encoder and VAE sessions; the UNet's opens "
                    + "at its first step, as for the base model): **%.1f s**, against %.1f s to open the base model's same sessions; a "
                    + "later task of the set: %.2f ms (the kept sessions).%n%n```%n%s%n```%n%n", layers, params, fileMb, mergeS, baseOpenS,
                    hitMs, log);
        }
    }

    private static LoraMerge loraMerge(Path bundle, Path work) throws Exception {
        dev.cnfarm.worker.engine.SdModel model = dev.cnfarm.worker.engine.SdModel.open(bundle);
        dev.cnfarm.models.weights.GraphWeights graphs = dev.cnfarm.models.weights.GraphWeights.of(List.of(model.textEncoder(), model.unet()));
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        Map<String, dev.cnfarm.models.weights.SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        int rank = 32;
        int layers = 0;
        long changed = 0;
        for (ParamSpec p : graphs.params()) {
            boolean unet = p.component().equals("unet") && p.shape().length == 2
                    && p.key().matches(".*(attn[12]\\.to_(q|k|v|out\\.0)|proj_in|proj_out|ff\\.net\\.0\\.proj|ff\\.net\\.2)\\.weight");
            boolean te = p.component().equals("text_encoder") && p.key().matches(".*(self_attn\\.(q|k|v|out)_proj|mlp\\.fc[12])\\.weight");
            if (!unet && !te) {
                continue;
            }
            long outDim = p.shape()[0];
            long in = p.shape()[1];
            String module = (unet ? "lora_unet_" : "lora_te_") + p.key().substring(0, p.key().length() - ".weight".length()).replace('.', '_');
            t.put(module + ".lora_down.weight", new dev.cnfarm.models.weights.SafetensorsWriter.Tensor(new long[] {rank, in}, gaussian(r, rank * in, 0.01)));
            t.put(module + ".lora_up.weight", new dev.cnfarm.models.weights.SafetensorsWriter.Tensor(new long[] {outDim, rank}, gaussian(r, outDim * rank, 0.01)));
            t.put(module + ".alpha", new dev.cnfarm.models.weights.SafetensorsWriter.Tensor(new long[] {}, new float[] {rank}));
            layers++;
            changed += p.count();
        }
        Path files = Files.createDirectories(work.resolve("loras"));
        Path written = work.resolve("style.safetensors");
        dev.cnfarm.models.weights.SafetensorsWriter.write(written, t, "F16", Map.of());
        double fileMb = Files.size(written) / 1e6;
        Path local = files.resolve(dev.cnfarm.common.storage.Sha256.of(Files.readAllBytes(written)) + ".safetensors");
        Files.move(written, local);
        String sha = local.getFileName().toString().replace(".safetensors", "");
        dev.cnfarm.common.config.SessionSettings sessions = dev.cnfarm.common.config.SessionSettings.defaults();
        long b0 = System.nanoTime();
        try (dev.cnfarm.worker.engine.SdRenderer base = new dev.cnfarm.worker.engine.SdRenderer(model,
                dev.cnfarm.worker.engine.ExecutionProviders.cpu(), sessions, 4);
             dev.cnfarm.worker.render.LoraModels loras = new dev.cnfarm.worker.render.LoraModels(
                     new dev.cnfarm.worker.render.LoraFiles(null, files), work.resolve("merged"),
                     m -> new dev.cnfarm.worker.engine.SdRenderer(m, dev.cnfarm.worker.engine.ExecutionProviders.cpu(), sessions, 4))) {
            double baseOpen = (System.nanoTime() - b0) / 1e9;
            dev.cnfarm.proto.v1.LoraRef ref = dev.cnfarm.proto.v1.LoraRef.newBuilder().setName("style").setWeight(0.8f)
                    .setFile(dev.cnfarm.proto.v1.ObjectRef.newBuilder().setKey("uploads/bench/" + sha).setSha256(sha)).build();
            long m0 = System.nanoTime();
            loras.apply(base, "bench", List.of(ref));
            double merge = (System.nanoTime() - m0) / 1e9;
            long h0 = System.nanoTime();
            loras.apply(base, "bench", List.of(ref));
            double hit = (System.nanoTime() - h0) / 1e6;
            long copies;
            try (var walk = Files.walk(work.resolve("merged"))) {
                copies = walk.filter(Files::isRegularFile).filter(f -> f.toString().endsWith(".onnx")).mapToLong(f -> f.toFile().length()).sum();
            }
            String log = String.format(Locale.ROOT, "graph copies (.onnx files, the merged layers inline; the rest linked): %.2f GB", copies / 1e9);
            System.out.printf(Locale.ROOT, "LoRA: %d layers, merge %.1f s, base open %.1f s%n", layers, merge, baseOpen);
            return new LoraMerge(layers, changed, fileMb, baseOpen, merge, hit, log);
        }
    }

    private static float[] gaussian(java.util.SplittableRandom r, long n, double sd) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (sd * (r.nextDouble() * 2 - 1) * 1.7);
        }
        return v;
    }

    private static Map<String, Double> noise() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (NoiseKind k : NoiseKind.values()) {
            double[] times = new double[20];
            for (int r = 0; r < times.length; r++) {
                long t0 = System.nanoTime();
                for (int image = 0; image < 8; image++) {
                    k.forSeed(1000 + image).initial(4 * 64 * 64, 1);
                }
                times[r] = (System.nanoTime() - t0) / 1e6;
            }
            Arrays.sort(times);
            out.put(k.name().toLowerCase(Locale.ROOT), times[times.length / 2]);
            System.out.printf(Locale.ROOT, "noise %s: %.2f ms%n", k, times[times.length / 2]);
        }
        return out;
    }

    /** The file written tensor by tensor (a whole-map writer would hold 4 GB on the heap). */
    private static long writeCheckpoint(Path file) throws IOException {
        ModelPreset sd15 = ModelPreset.named("sd15");
        List<ParamSpec> params = new ArrayList<>();
        BundleBuilder.graphs(sd15, 0, GraphBuilder.Storage.FP32, BundleBuilder.referenceSize(sd15)).values().forEach(g -> params.addAll(g.params()));
        OriginalLayout layout = OriginalLayout.of(params, OriginalLayout.CONTROLNET_PREFIX);
        StringBuilder header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long offset = 0;
        for (OriginalLayout.Entry e : layout.entries().values()) {
            long n = e.param().count() * 4;
            header.append(",\"").append(e.originalKey()).append("\":{\"dtype\":\"F32\",\"shape\":")
                    .append(Arrays.toString(e.originalShape()).replace(" ", "")).append(",\"data_offsets\":[").append(offset).append(',')
                    .append(offset + n).append("]}");
            offset += n;
        }
        header.append('}');
        while (header.length() % 8 != 0) {
            header.append(' ');
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        RandomWeights w = new RandomWeights(7, true);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            out.write(h);
            for (OriginalLayout.Entry e : layout.entries().values()) {
                float[] v = w.values(e.param());
                ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(v);
                out.write(b.array());
            }
        }
        return Files.size(file);
    }

}
