package dev.cnfarm.cli.commands.train;

import dev.cnfarm.cli.trainer.ManifestTable;
import dev.cnfarm.trainer.base.BaseTraining;
import dev.cnfarm.trainer.controlnet.ControlNetRun;
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
                    "The job comes from JOB (a YAML or JSON training job: name, base, dataset, condition, ...; paths relative to it) "
                            + "and/or the options, which override its fields.",
                    "Writes WORK/controlnet.safetensors, WORK/model (the base plus the ControlNet) and WORK/bundle; checkpoints every "
                            + "checkpoint_every steps in WORK/checkpoints (run again to resume), a weights snapshot at each in WORK/snapshots; "
                            + "every sample_every steps a grid of held-out rows rendered with the ControlNet so far in WORK/samples, "
                            + "scored by edge F1 (WORK/fidelity-controlnet.png).",
                    "With --submit the job runs on the farm instead: the data set's folder is uploaded as one archive, the job "
                            + "goes to the coordinator, and a trainer of the train pool (farm trainer) runs it; base is then a model id "
                            + "the trainers serve (a folder's name is taken as its id)."})
    public static final class Controlnet implements Callable<Integer> {
        @picocli.CommandLine.Parameters(index = "0", arity = "0..1", paramLabel = "JOB", description = "a training job file (YAML or JSON)")
        Path job;

        @Option(names = "--work", description = "work folder: checkpoints, snapshots, loss curve, the results (training here)")
        Path work;

        @Option(names = "--submit", description = "run the job on the farm (a trainer of the train pool) instead of here")
        boolean submit;

        @Option(names = "--upload-files", description = "with --submit: upload the data set's files one by one (content-addressed: files "
                + "the farm has already are not sent again) and a manifest naming them, instead of one zip archive; for data sets larger "
                + "than the upload limit")
        boolean uploadFiles;

        @picocli.CommandLine.Mixin
        dev.cnfarm.cli.ConfigOptions options;

        @Option(names = "--data", description = "the data set's manifest.csv (dataset)")
        Path data;

        @Option(names = "--base", description = "the trained base model's folder, such as trained/shapes (base)")
        Path base;

        @Option(names = "--condition", description = "what the control images are, such as canny (condition)")
        String condition;

        @Option(names = "--column", description = "the manifest column of control images (column; default conditioning_image)")
        String column;

        @Option(names = "--name", description = "the trained model's id (name; default BASE-CONDITION)")
        String name;

        @Option(names = "--steps", description = "optimiser steps (steps; default 3000)")
        Integer steps;

        @Option(names = "--batch", description = "images per micro-batch (batch; default 16)")
        Integer batch;

        @Option(names = "--accumulation", description = "micro-batches per step (accumulation; default 1)")
        Integer accumulation;

        @Option(names = "--learning-rate", description = "AdamW's learning rate (learning_rate; default 2e-4)")
        Double learningRate;

        @Option(names = "--warmup-steps", description = "linear warm-up (warmup_steps; default 100)")
        Integer warmup;

        @Option(names = "--empty-caption-rate", description = "share of captions replaced by the empty one (empty_caption_rate; "
                + "default 0.5, the paper's)")
        Double emptyCaptionRate;

        @Option(names = "--links", description = "all, or small-scale: only the middle-block link until --reconnect-at (links; default all)")
        String links;

        @Option(names = "--reconnect-at", description = "small-scale regime: the step from which every link is used (reconnect_at)")
        Integer reconnectAt;

        @Option(names = "--unlock-decoder-at", description = "large-scale regime: the step from which the base UNet's decoder trains "
                + "too (unlock_decoder_at; default: the base stays locked)")
        Integer unlockDecoderAt;

        @Option(names = "--decoder-learning-rate", description = "large-scale regime: the decoder's learning rate (decoder_learning_rate; "
                + "default a tenth of --learning-rate)")
        Double decoderLearningRate;

        @Option(names = "--timestep-sampling", description = "uniform (the paper's) or cubic: most timesteps at high noise "
                + "(timestep_sampling; default uniform)")
        String timestepSampling;

        @Option(names = "--ema-decay", description = "moving average of the weights (ema_decay; 0: none, the default)")
        Double emaDecay;

        @Option(names = "--checkpoint-every", description = "steps between checkpoints (checkpoint_every; default 250)")
        Integer checkpointEvery;

        @Option(names = "--validation", description = "last rows kept out of training (validation; default 256)")
        Integer validation;

        @Option(names = "--seed", description = "seed of every random draw (seed; default 1)")
        Long seed;

        @Option(names = "--sample-every", description = "steps between sample grids, a multiple of --checkpoint-every (sample_every; "
                + "default: at every checkpoint)")
        Integer sampleEvery;

        @Option(names = "--samples", description = "held-out rows rendered in each sample grid (samples; default 4, 0 for none)")
        Integer samples;

        @Override
        public Integer call() throws Exception {
            com.fasterxml.jackson.databind.node.ObjectNode tree = job != null ? readJob(job) : dev.cnfarm.common.json.Json.mapper().createObjectNode();
            Path dir = job != null ? job.toAbsolutePath().getParent() : Path.of("").toAbsolutePath();
            put(tree, "dataset", data == null ? null : dir.relativize(data.toAbsolutePath()).toString());
            put(tree, "base", base == null ? null : dir.relativize(base.toAbsolutePath()).toString());
            put(tree, "condition", condition);
            put(tree, "column", column);
            put(tree, "links", links);
            put(tree, "timestep_sampling", timestepSampling);
            if (name == null && !tree.has("name") && tree.path("base").isTextual() && tree.path("condition").isTextual()) {
                name = Path.of(tree.get("base").asText()).toAbsolutePath().normalize().getFileName() + "-" + tree.get("condition").asText();
            }
            put(tree, "name", name);
            putNumber(tree, "steps", steps);
            putNumber(tree, "batch", batch);
            putNumber(tree, "accumulation", accumulation);
            putNumber(tree, "learning_rate", learningRate);
            putNumber(tree, "warmup_steps", warmup);
            putNumber(tree, "empty_caption_rate", emptyCaptionRate);
            putNumber(tree, "reconnect_at", reconnectAt);
            putNumber(tree, "unlock_decoder_at", unlockDecoderAt);
            putNumber(tree, "decoder_learning_rate", decoderLearningRate);
            putNumber(tree, "ema_decay", emaDecay);
            putNumber(tree, "checkpoint_every", checkpointEvery);
            putNumber(tree, "validation", validation);
            putNumber(tree, "seed", seed);
            putNumber(tree, "sample_every", sampleEvery);
            putNumber(tree, "samples", samples);
            dev.cnfarm.common.training.ControlNetJob spec = dev.cnfarm.common.training.ControlNetJob.parse(tree);
            if (submit) {
                return submit(tree, spec, dir);
            }
            if (work == null) {
                throw new IllegalArgumentException("--work is required to train here (or --submit to train on the farm)");
            }
            try (Bars bars = new Bars()) {
                ControlNetRun.Summary s = ControlNetRun.run(ControlNetRun.Config.of(spec, dir, work), bars);
                bars.close();
                System.out.printf("controlnet (%s): %.0f s, %.2f steps/s, final loss %.4f, %,d parameters, %,d bytes; %d rows skipped%n",
                        s.condition(), s.seconds(), s.stepsPerSecond(), s.finalLoss(), s.controlnetParameters(), s.controlnetBytes(),
                        s.skippedRows());
                System.out.println("bundle " + s.bundle());
            }
            return 0;
        }

        /** Uploads the data set (one zip archive of its folder, or file by file with --upload-files) and submits the job to the train pool. */
        private Integer submit(com.fasterxml.jackson.databind.node.ObjectNode tree, dev.cnfarm.common.training.ControlNetJob spec, Path dir)
                throws java.io.IOException {
            dev.cnfarm.cli.client.FarmClient client = dev.cnfarm.cli.client.FarmClient.of(options.load());
            Path manifest = dir.resolve(spec.dataset()).toAbsolutePath().normalize();
            if (uploadFiles) {
                tree.put("dataset", uploadFiles(client, manifest));
            } else {
                Path archive = java.nio.file.Files.createTempFile("dataset-", ".zip");
                try {
                    java.nio.file.Files.write(archive, dev.cnfarm.common.storage.Archives.zip(manifest.getParent()));
                    if (!manifest.getFileName().toString().equals("manifest.csv")) {
                        throw new IllegalArgumentException("dataset: on the farm the data set's manifest must be called manifest.csv at the top "
                                + "of its folder, got " + manifest);
                    }
                    tree.put("dataset", client.upload(archive));
                } finally {
                    java.nio.file.Files.deleteIfExists(archive);
                }
            }
            tree.put("base", Path.of(spec.base()).getFileName().toString());
            com.fasterxml.jackson.databind.node.ObjectNode body = dev.cnfarm.common.json.Json.mapper().createObjectNode();
            body.put("name", "train " + spec.name());
            body.set("train_controlnet", tree);
            com.fasterxml.jackson.databind.JsonNode answer = client.submit(body.toString(), null, false);
            String jobId = answer.path("job_id").asText();
            System.out.println("submitted training job " + jobId + " (" + spec.steps() + " steps of " + spec.name() + " on "
                    + tree.get("base").asText() + "); follow it with: farm watch " + jobId);
            return 0;
        }

        /**
         * Uploads every file the manifest names (the cells that are files beside it, captions left as
         * they are), then the manifest with each path replaced by its upload key; returns the
         * manifest's key, the job's data set.
         */
        private static String uploadFiles(dev.cnfarm.cli.client.FarmClient client, Path manifest) throws java.io.IOException {
            ManifestTable table = ManifestTable.read(java.nio.file.Files.readAllBytes(manifest));
            Path dir = manifest.getParent();
            java.util.Set<Path> files = new java.util.LinkedHashSet<>();
            for (java.util.Map<String, String> r : table.rows()) {
                r.forEach((k, v) -> {
                    if (ManifestTable.fileColumn(k) && v != null && !v.isBlank()
                            && java.nio.file.Files.isRegularFile(dir.resolve(v))) {
                        files.add(dir.resolve(v).normalize());
                    }
                });
            }
            System.out.println("uploading " + files.size() + " data set files (those the farm has already are skipped)...");
            java.util.Map<Path, String> keys;
            try {
                keys = new dev.cnfarm.cli.client.ParallelUploader(client, 8).upload(new java.util.ArrayList<>(files), true);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while uploading the data set", e);
            }
            for (java.util.Map<String, String> r : table.rows()) {
                r.replaceAll((k, v) -> !ManifestTable.fileColumn(k) || v == null || v.isBlank() ? v
                        : keys.getOrDefault(dir.resolve(v).normalize(), v));
            }
            Path keyed = java.nio.file.Files.createTempFile("manifest-", ".csv");
            try {
                table.write(keyed);
                return client.upload(keyed);
            } finally {
                java.nio.file.Files.deleteIfExists(keyed);
            }
        }

        private static com.fasterxml.jackson.databind.node.ObjectNode readJob(Path file) throws java.io.IOException {
            com.fasterxml.jackson.databind.JsonNode t = new com.fasterxml.jackson.dataformat.yaml.YAMLMapper().readTree(file.toFile());
            if (t == null || !t.isObject()) {
                throw new IllegalArgumentException("training job " + file + " must hold a mapping of fields ("
                        + String.join(", ", dev.cnfarm.common.training.ControlNetJob.FIELDS.keySet()) + ")");
            }
            return (com.fasterxml.jackson.databind.node.ObjectNode) t;
        }

        private static void put(com.fasterxml.jackson.databind.node.ObjectNode t, String field, String v) {
            if (v != null) {
                t.put(field, v);
            }
        }

        private static void putNumber(com.fasterxml.jackson.databind.node.ObjectNode t, String field, Number v) {
            if (v instanceof Double d) {
                t.put(field, d);
            } else if (v != null) {
                t.put(field, v.longValue());
            }
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
            step(s, step, total, loss, Double.NaN, stepsPerSecond);
        }

        @Override
        public synchronized void step(String s, long step, long total, double loss, double learningRate, double stepsPerSecond) {
            if (!s.equals(stage)) {
                open(s, step - 1, total);
            }
            bar.stepTo(step);
            if (loss > 0) {
                smoothed = Double.isNaN(smoothed) ? loss : 0.98 * smoothed + 0.02 * loss;
                bar.setExtraMessage(Double.isNaN(learningRate)
                        ? String.format("loss %.4f, %.2f steps/s", smoothed, stepsPerSecond)
                        : String.format("loss %.4f, lr %.1e, %.2f steps/s", smoothed, learningRate, stepsPerSecond));
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
