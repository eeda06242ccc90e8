package dev.cnfarm.cli.commands.train;

import dev.cnfarm.trainer.base.BaseTraining;
import dev.cnfarm.trainer.train.TrainingListener;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code farm train}: training on libtorch. */
@Command(name = "train", mixinStandardHelpOptions = true, description = "Train models on this machine (libtorch).",
        subcommands = {TrainCommand.Base.class})
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
