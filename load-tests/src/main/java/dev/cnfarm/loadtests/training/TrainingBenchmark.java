package dev.cnfarm.loadtests.training;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.loadtests.report.Charts;
import dev.cnfarm.models.arch.ClipText;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.arch.UNet;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.trainer.base.DiffusionTraining;
import dev.cnfarm.trainer.base.ShapesPreset;
import dev.cnfarm.trainer.controlnet.ControlNetInit;
import dev.cnfarm.trainer.controlnet.ControlNetTraining;
import dev.cnfarm.trainer.torch.ParameterStore;
import dev.cnfarm.trainer.torch.Torch;
import dev.cnfarm.trainer.torch.TorchNn;
import dev.cnfarm.trainer.train.Optimiser;
import dev.cnfarm.trainer.train.StageRunner;
import dev.cnfarm.trainer.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * What training a ControlNet costs against training the base UNet alone, on the shapes model's
 * architecture at one batch (the ControlNet paper reports +23 % memory and +34 % time per
 * iteration), and the small-scale regime (only the middle-block link) against every link (the
 * paper: about 1.6x faster). Each configuration runs in a process of its own, so its peak resident
 * memory (VmHWM) is its own; the order of the configurations is rotated between rounds. Also times
 * a checkpoint's write and a resume from it. Random weights and data: speed does not depend on them.
 */
public final class TrainingBenchmark {
    static final List<String> CONFIGS = List.of("unet", "controlnet", "controlnet-middle-link", "controlnet-decoder-unlocked");

    /** One configuration's measurement. */
    public record Result(String config, int batch, int steps, double stepsPerSecond, double peakMiB, double checkpointSeconds,
                         double resumeSeconds, long trainedParameters) {}

    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        int steps = 30;
        int batch = 16;
        int rounds = 2;
        String one = null;
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root" -> root = Path.of(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--one" -> one = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + "; known: --root DIR, --steps N, --batch N, --rounds N");
            }
        }
        if (one != null) {
            Json.mapper().writeValue(out.toFile(), measure(one, steps, batch, out.resolveSibling(one + "-ckpt")));
            return;
        }
        Path reportDir = root.resolve("load-tests/reports/training");
        Path work = root.resolve(".farm/bench/training");
        Files.createDirectories(reportDir);
        Files.createDirectories(work);
        Map<String, List<Result>> byConfig = new LinkedHashMap<>();
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < CONFIGS.size(); k++) {
                String config = CONFIGS.get((k + r) % CONFIGS.size());
                Path json = work.resolve(config + "-" + r + ".json");
                dev.cnfarm.common.storage.Folders.deleteRecursively(work.resolve(config + "-ckpt"));
                runChild(config, steps, batch, json);
                Result res = Json.mapper().readValue(json.toFile(), Result.class);
                System.out.printf(Locale.ROOT, "round %d %-24s %.3f steps/s, peak %.0f MiB%n", r + 1, config, res.stepsPerSecond(), res.peakMiB());
                byConfig.computeIfAbsent(config, c -> new ArrayList<>()).add(res);
            }
        }
        Map<String, Result> best = new LinkedHashMap<>();
        byConfig.forEach((c, list) -> best.put(c, list.stream().max(java.util.Comparator.comparingDouble(Result::stepsPerSecond)).orElseThrow()));
        report(reportDir, best, steps, batch, rounds);
    }

    private static void runChild(String config, int steps, int batch, Path json) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx4g", "-cp",
                System.getProperty("java.class.path"), TrainingBenchmark.class.getName(), "--one", config, "--steps", String.valueOf(steps),
                "--batch", String.valueOf(batch), "--out", json.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        int rc = pb.start().waitFor();
        if (rc != 0) {
            throw new IllegalStateException(config + " exited with " + rc);
        }
    }

    /** Runs one configuration in this process. */
    static Result measure(String config, int steps, int batch, Path checkpoints) {
        Torch.configure();
        ModelPreset preset = ShapesPreset.preset(1f);
        int side = 16;
        int image = side * preset.controlnet().imageToLatentFactor();
        Map<String, float[]> base = new HashMap<>();
        try (ParameterStore b = new ParameterStore(new RandomWeights(1, true))) {
            DiffusionTraining.materialise(b, preset.unet(), preset.textEncoder(), side);
            b.specs().forEach(s -> base.put(s.onnxName(), b.values(s.onnxName())));
        }
        boolean controlnet = !config.equals("unet");
        boolean allLinks = !config.equals("controlnet-middle-link");
        String trained = controlnet ? ControlNetTraining.COMPONENT : ModelGraphs.UNET;
        try (ParameterStore store = new ParameterStore(controlnet ? ControlNetInit.of(base, ControlNetTraining.COMPONENT, 2)
                : spec -> base.get(spec.onnxName()))) {
            if (controlnet) {
                ControlNetTraining.materialise(store, preset, side);
            } else {
                store.lock(ModelGraphs.TEXT_ENCODER);
                DiffusionTraining.materialise(store, preset.unet(), preset.textEncoder(), side);
            }
            TorchNn nn = new TorchNn(store);
            int warmup = 3;
            long[] stepStart = new long[1];
            List<Long> stepNanos = new ArrayList<>();
            long[] lastStep = new long[1];
            TrainingListener timing = new TrainingListener() {
                @Override
                public void step(String stage, long step, long total, double loss, double sps) {
                    long now = System.nanoTime();
                    if (step > warmup) {
                        stepNanos.add(now - stepStart[0]);
                    }
                    stepStart[0] = now;
                    lastStep[0] = now;
                }
            };
            StageRunner.StepLoss loss = draw -> {
                torch.manual_seed(draw);
                Tensor x = torch.randn(batch, 4, side, side);
                Tensor noise = torch.randn(batch, 4, side, side);
                java.util.SplittableRandom rnd = new java.util.SplittableRandom(draw);
                float[] ts = new float[batch];
                for (int i = 0; i < batch; i++) {
                    ts[i] = rnd.nextInt(1000);
                }
                Tensor t = Torch.floats(ts, batch);
                long[] ids = new long[batch * 77];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = i % 77 < 6 ? 4 + (i % 20) : 0;
                }
                Tensor ctx;
                try (NoGradGuard g = new NoGradGuard()) {
                    ctx = ClipText.forward(nn, ModelGraphs.TEXT_ENCODER, Torch.longs(ids, batch, 77), preset.textEncoder()).lastHiddenState();
                }
                Tensor pred = controlnet
                        ? ControlNetTraining.controlledUNet(nn, preset, x, t, ctx, torch.rand(batch, 3, image, image), allLinks)
                        : UNet.forward(nn, ModelGraphs.UNET, x, t, ctx, preset.unet(), null, null);
                return torch.mse_loss(pred, noise);
            };
            int total = steps + warmup;
            stepStart[0] = System.nanoTime();
            long t0 = System.nanoTime();
            // the large-scale regime's steps once the decoder has joined: its weights train beside the ControlNet's
            StageRunner.Joining decoder = config.equals("controlnet-decoder-unlocked")
                    ? new StageRunner.Joining(0, ControlNetTraining.decoderParameters(store), 1e-5) : null;
            new StageRunner(new StageRunner.Settings("bench", total, total, new Optimiser.Settings(1e-4, 1, total, 1, 0.01, 1), 0),
                    store, List.of(trained), checkpoints, timing).join(decoder).run(loss);
            long end = System.nanoTime();
            double checkpointSeconds = (end - lastStep[0]) / 1e9;
            double mean = stepNanos.stream().mapToLong(Long::longValue).average().orElseThrow() / 1e9;
            // resume: read the checkpoint and run one more step; its time less one step is the resume's cost
            long r0 = System.nanoTime();
            new StageRunner(new StageRunner.Settings("bench", total + 1, 1_000_000, new Optimiser.Settings(1e-4, 1, total, 1, 0.01, 1), 0),
                    store, List.of(trained), checkpoints, TrainingListener.NONE).join(decoder).run(loss);
            double resumeSeconds = Math.max(0, (System.nanoTime() - r0) / 1e9 - mean);
            long params = store.count(trained) + (decoder == null ? 0 : decoder.parameters().stream()
                    .mapToLong(n -> store.specs().stream().filter(p -> p.onnxName().equals(n)).findFirst().orElseThrow().count()).sum());
            return new Result(config, batch, steps, 1 / mean, peakMiB(), checkpointSeconds, resumeSeconds, params);
        }
    }

    /** The process's peak resident memory (Linux's VmHWM): Java heap and libtorch's native memory together. */
    static double peakMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return Double.NaN;
    }

    private static void report(Path dir, Map<String, Result> best, int steps, int batch, int rounds) throws IOException {
        Result unet = best.get("unet");
        Result cn = best.get("controlnet");
        Result mid = best.get("controlnet-middle-link");
        Result decoder = best.get("controlnet-decoder-unlocked");
        StringBuilder md = new StringBuilder("# Training cost: ControlNet against the base UNet\n\nRun ")
                .append(LocalDateTime.now().withNano(0)).append(" on ").append(Runtime.getRuntime().availableProcessors())
                .append(" cores (CPU, libtorch). The shapes model's architecture (UNet 48/96/96, 128x128 images, 16x16 latents), batch ")
                .append(batch).append(", ").append(steps).append(" timed steps after 3 of warm-up, AdamW, each configuration in its own "
                        + "process (peak resident memory is the process's VmHWM: heap and libtorch together); best of ").append(rounds)
                .append(" rounds, configurations rotated between rounds.\n\n");
        md.append("| configuration | trained parameters | steps/s | s per step | time per step vs UNet | peak memory MiB | memory vs UNet | checkpoint write s | resume s |\n");
        md.append("|---|---|---|---|---|---|---|---|---|\n");
        for (Result r : best.values()) {
            md.append(String.format(Locale.ROOT, "| %s | %,d | %.3f | %.3f | %+.0f %% | %.0f | %+.0f %% | %.2f | %.2f |%n", r.config(),
                    r.trainedParameters(), r.stepsPerSecond(), 1 / r.stepsPerSecond(),
                    100 * (unet.stepsPerSecond() / r.stepsPerSecond() - 1), r.peakMiB(), 100 * (r.peakMiB() / unet.peakMiB() - 1),
                    r.checkpointSeconds(), r.resumeSeconds()));
        }
        md.append(String.format(Locale.ROOT, "%nControlNet training against the UNet alone: %+.0f %% time per step, %+.0f %% peak memory "
                        + "(the paper, on SD1.5 and a GPU: +34 %% and +23 %%). Only the middle-block link against every link: %.2fx the "
                        + "steps per second (the paper: about 1.6x).%n%n![steps per second](steps-per-second.png)%n%n"
                        + "![peak memory](peak-memory.png)%n",
                100 * (unet.stepsPerSecond() / cn.stepsPerSecond() - 1), 100 * (cn.peakMiB() / unet.peakMiB() - 1),
                mid.stepsPerSecond() / cn.stepsPerSecond()));
        if (decoder != null) {
            md.append(String.format(Locale.ROOT, "%nThe large-scale regime once the base's decoder is unlocked (it trains beside the ControlNet): "
                    + "%+.0f %% time per step and %+.0f %% peak memory against the locked base (the decoder's weight gradients and "
                    + "its AdamW state).%n", 100 * (cn.stepsPerSecond() / decoder.stepsPerSecond() - 1),
                    100 * (decoder.peakMiB() / cn.peakMiB() - 1)));
        }
        md.append("\nWhat the middle-link regime can save: to reach the middle block's link, the gradient still runs back through the "
                + "whole locked decoder and the copy's whole encoder; cutting the skip links saves only their 1x1 zero convolutions and "
                + "the gradient into the skips, a few per cent of a step here. Where the paper's 1.6x comes from "
                + "(a GPU, SD1.5's size) could not be checked here; on this CPU the two regimes cost the same.\n");
        Map<String, Double> sps = new LinkedHashMap<>();
        Map<String, Double> mem = new LinkedHashMap<>();
        best.values().forEach(r -> {
            sps.put(r.config(), r.stepsPerSecond());
            mem.put(r.config(), r.peakMiB());
        });
        Charts.bars(dir.resolve("steps-per-second.png"), "Training steps per second (batch " + batch + ")", "steps/s", sps);
        Charts.bars(dir.resolve("peak-memory.png"), "Peak resident memory", "MiB", mem);
        Files.writeString(dir.resolve("report.md"), md);
        System.out.println("report: " + dir.resolve("report.md"));
    }

}
