package dev.cnfarm.cli.commands.train;

import dev.cnfarm.trainer.base.BaseTraining;
import dev.cnfarm.trainer.controlnet.ControlNetRun;
import dev.cnfarm.trainer.controlnet.ControlNetTraining;
import dev.cnfarm.trainer.train.TrainingListener;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code farm train}: training on libtorch. */
@Command(name = "train", mixinStandardHelpOptions = true, description = "Train models on this machine (libtorch).",
        subcommands = {TrainCommand.Base.class, TrainCommand.Controlnet.class, TrainCommand.SnapshotBundles.class})
public final class TrainCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    /** {@code farm train base}: the VAE, then text encoder and UNet, then a bundle. */
    @Command(name = "base", mixinStandardHelpOptions = true,
            description = {"Train a base model from scratch on a captioned data set (manifest.csv with image and text columns): "
                    + "the VAE, then the text encoder and UNet on its latents, then a model bundle in WORK/bundle.",
                    "Checkpoints go to WORK/checkpoints every 250 steps; run the same command again to resume.",
                    "The preset is the shapes model's (128x128 images)."})
    public static final class Base implements Callable<Integer> {
        @Option(names = "--data", required = true, description = "the data set's manifest.csv")
        Path data;

        @Option(names = "--work", required = true, description = "work folder: checkpoints, loss curves, the bundle, summary.json")
        Path work;

        @Option(names = "--vae-steps", defaultValue = "5000", description = "VAE training steps, batch 16 (default ${DEFAULT-VALUE})")
        int vaeSteps;

        @Option(names = "--steps", defaultValue = "6000", description = "text encoder + UNet steps, batch 32 (default ${DEFAULT-VALUE})")
        int steps;

        @Option(names = "--seed", defaultValue = "1", description = "seed of the weights and of every random draw (default ${DEFAULT-VALUE})")
        long seed;

        @Override
        public Integer call() {
            if (vaeSteps < 1 || steps < 1) {
                throw new IllegalArgumentException("--vae-steps and --steps must be at least 1");
            }
            try (Bars bars = new Bars()) {
                BaseTraining.Summary s = BaseTraining.run(BaseTraining.shapes(data, work, vaeSteps, steps, seed), bars);
                bars.close();
                System.out.printf("vae: %.0f s, %.2f steps/s, final loss %.4f, PSNR %.2f dB, scaling factor %.5f%n", s.vaeSeconds(),
                        s.vaeStepsPerSecond(), s.vaeFinalLoss(), s.vaePsnr(), s.scalingFactor());
                System.out.printf("text encoder + UNet: %.0f s, %.2f steps/s, final loss %.4f%n", s.diffusionSeconds(),
                        s.diffusionStepsPerSecond(), s.diffusionFinalLoss());
                System.out.printf("bundle %s: %,d bytes (UNet %,d, text encoder %,d, VAE %,d parameters)%n", s.bundle(), s.bundleBytes(),
                        s.unetParameters(), s.textEncoderParameters(), s.vaeParameters());
            }
            return 0;
        }
    }

    /** {@code farm train controlnet}: a ControlNet for a trained base model, on this machine. */
    @Command(name = "controlnet", mixinStandardHelpOptions = true,
            description = {"Train a ControlNet for a trained base model on this machine: the base locked, a copy of its UNet encoder "
                    + "joined to it by zero convolutions (the ControlNet paper's method), on a data set of image, control image and caption "
                    + "(manifest.csv with image, text and a control image column).",
                    "Writes WORK/controlnet.safetensors, WORK/model (the base plus the ControlNet) and WORK/bundle; checkpoints every "
                            + "--checkpoint-every steps in WORK/checkpoints (run again to resume), a weights snapshot at each in WORK/snapshots."})
    public static final class Controlnet implements Callable<Integer> {
        @Option(names = "--data", required = true, description = "the data set's manifest.csv")
        Path data;

        @Option(names = "--base", required = true, description = "the trained base model's folder (model.json, safetensors, tokenizer), "
                + "such as trained/shapes")
        Path base;

        @Option(names = "--work", required = true, description = "work folder: checkpoints, snapshots, loss curve, the results")
        Path work;

        @Option(names = "--condition", defaultValue = "canny", description = "what the control images are (default ${DEFAULT-VALUE})")
        String condition;

        @Option(names = "--column", defaultValue = "conditioning_image", description = "the manifest column of control images "
                + "(default ${DEFAULT-VALUE})")
        String column;

        @Option(names = "--name", description = "the bundle's model id (default: BASE-CONDITION)")
        String name;

        @Option(names = "--steps", defaultValue = "3000", description = "optimiser steps (default ${DEFAULT-VALUE})")
        int steps;

        @Option(names = "--batch", defaultValue = "16", description = "images per micro-batch (default ${DEFAULT-VALUE})")
        int batch;

        @Option(names = "--accumulation", defaultValue = "1", description = "micro-batches per step (default ${DEFAULT-VALUE})")
        int accumulation;

        @Option(names = "--learning-rate", defaultValue = "2e-4", description = "AdamW's learning rate (default ${DEFAULT-VALUE})")
        double learningRate;

        @Option(names = "--warmup-steps", defaultValue = "100", description = "linear warm-up (default ${DEFAULT-VALUE})")
        int warmup;

        @Option(names = "--empty-caption-rate", defaultValue = "0.5", description = "share of captions replaced by the empty one "
                + "(default ${DEFAULT-VALUE}, the paper's)")
        double emptyCaptionRate;

        @Option(names = "--links", defaultValue = "all", description = "all, or small-scale: only the middle-block link until "
                + "--reconnect-at, then all (default ${DEFAULT-VALUE})")
        String links;

        @Option(names = "--reconnect-at", defaultValue = "0", description = "small-scale regime: the step from which every link is used")
        int reconnectAt;

        @Option(names = "--ema-decay", defaultValue = "0", description = "moving average of the weights (0: none; default ${DEFAULT-VALUE})")
        double emaDecay;

        @Option(names = "--checkpoint-every", defaultValue = "250", description = "steps between checkpoints (default ${DEFAULT-VALUE})")
        int checkpointEvery;

        @Option(names = "--validation", defaultValue = "256", description = "last rows kept out of training (default ${DEFAULT-VALUE})")
        int validation;

        @Option(names = "--seed", defaultValue = "1", description = "seed of every random draw (default ${DEFAULT-VALUE})")
        long seed;

        @Override
        public Integer call() {
            ControlNetTraining.Settings t = new ControlNetTraining.Settings(steps, batch, accumulation, learningRate, warmup,
                    emptyCaptionRate, 0.1, ControlNetTraining.Links.of(links), reconnectAt, emaDecay, seed, checkpointEvery);
            String id = name != null ? name : base.toAbsolutePath().normalize().getFileName() + "-" + condition;
            try (Bars bars = new Bars()) {
                ControlNetRun.Summary s = ControlNetRun.run(new ControlNetRun.Config(data, column, base, work, condition, id, validation, t),
                        bars);
                bars.close();
                System.out.printf("controlnet (%s): %.0f s, %.2f steps/s, final loss %.4f, %,d parameters, %,d bytes; %d rows skipped%n",
                        s.condition(), s.seconds(), s.stepsPerSecond(), s.finalLoss(), s.controlnetParameters(), s.controlnetBytes(),
                        s.skippedRows());
                System.out.println("bundle " + s.bundle());
            }
            return 0;
        }
    }

    /** {@code farm train snapshot-bundles}: bundles of a ControlNet run's snapshots, for fidelity against steps. */
    @Command(name = "snapshot-bundles", mixinStandardHelpOptions = true,
            description = {"Build a bundle of each weights snapshot a farm train controlnet run kept (WORK/snapshots), in "
                    + "WORK/snapshot-bundles/step-N with the id NAME-step-N, and print their folders comma-separated: what "
                    + "farm eval control --local --serve takes to measure fidelity against training steps."})
    public static final class SnapshotBundles implements Callable<Integer> {
        @Option(names = "--base", required = true, description = "the base model folder the run trained on")
        Path base;

        @Option(names = "--work", required = true, description = "the run's work folder")
        Path work;

        @Option(names = "--condition", defaultValue = "canny", description = "what the control images were (default ${DEFAULT-VALUE})")
        String condition;

        @Option(names = "--name", required = true, description = "bundle id prefix (the bundles are NAME-step-N)")
        String name;

        @Option(names = "--every", defaultValue = "500", description = "use the snapshots of steps that are multiples of this "
                + "(default ${DEFAULT-VALUE})")
        int every;

        @Override
        public Integer call() {
            List<Path> dirs = ControlNetRun.publishSnapshots(base, work, condition, name, every);
            System.out.println(String.join(",", dirs.stream().map(Path::toString).toList()));
            return 0;
        }
    }

    /** One progress bar per stage, with the loss and steps per second. */
    static final class Bars implements TrainingListener, AutoCloseable {
        private ProgressBar bar;
        private String stage;
        private double smoothed = Double.NaN;

        @Override
        public void stageStarted(String s, long fromStep, long totalSteps) {
            open(s, fromStep, totalSteps);
        }

        @Override
        public synchronized void step(String s, long step, long total, double loss, double stepsPerSecond) {
            if (!s.equals(stage)) {
                open(s, step - 1, total);
            }
            bar.stepTo(step);
            if (loss > 0) {
                smoothed = Double.isNaN(smoothed) ? loss : 0.98 * smoothed + 0.02 * loss;
                bar.setExtraMessage(String.format("loss %.4f, %.2f steps/s", smoothed, stepsPerSecond));
            }
        }

        @Override
        public synchronized void note(String message) {
            if (bar != null) {
                bar.close();
                bar = null;
                stage = null;
            }
            System.out.println(message);
        }

        private synchronized void open(String s, long from, long total) {
            close();
            stage = s;
            smoothed = Double.NaN;
            bar = new ProgressBarBuilder().setTaskName(s).setInitialMax(total).startsFrom(from, java.time.Duration.ZERO)
                    .setStyle(ProgressBarStyle.UNICODE_BLOCK).setUpdateIntervalMillis(500).build();
        }

        @Override
        public synchronized void close() {
            if (bar != null) {
                bar.close();
                bar = null;
            }
        }
    }
}
