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
        StringBuilder md = new StringBuilder("# Bringing other tools' files: checkpoint import and noise\n\nRun ")
                .append(LocalDateTime.now().withNano(0)).append(" on ").append(Runtime.getRuntime().availableProcessors()).append(" cores.\n\n");
        md.append(String.format(Locale.ROOT, "A full-size SD1.5 single-file checkpoint in the original layout (UNet, VAE and text encoder "
                + "under model.diffusion_model., first_stage_model., cond_stage_model.transformer.; random weights, fp32): %.2f GB, written in "
                + "%.0f s. `farm models import --preset sd15 --checkpoint ... --dtype fp16` in its own process: **%.0f s**, peak resident "
                + "memory **%.0f MiB** (the file is memory-mapped and read tensor by tensor; the JVM's heap is capped at 4 GiB), bundle "
                + "%.2f GB.%n%n", bytes / 1e9, writeS, importS, peakMiB, bundleBytes / 1e9));
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
