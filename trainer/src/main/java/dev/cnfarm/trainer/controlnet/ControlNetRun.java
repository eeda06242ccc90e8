package dev.cnfarm.trainer.controlnet;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.bundle.TrainedModels;
import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.weights.SafetensorsWriter;
import dev.cnfarm.trainer.base.VaeTraining;
import dev.cnfarm.trainer.data.LatentCache;
import dev.cnfarm.trainer.data.PairedImages;
import dev.cnfarm.trainer.data.TrainingManifest;
import dev.cnfarm.trainer.torch.ParameterStore;
import dev.cnfarm.trainer.torch.Torch;
import dev.cnfarm.trainer.train.Checkpoint;
import dev.cnfarm.trainer.train.LossCurve;
import dev.cnfarm.trainer.train.SampleGrid;
import dev.cnfarm.trainer.train.FidelityCurve;
import dev.cnfarm.trainer.train.StageRunner;
import dev.cnfarm.trainer.train.TrainingListener;
import dev.cnfarm.worker.engine.text.ClipTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains a ControlNet for a trained base model on a data set of (image, control image, caption)
 * rows, and writes what the farm serves:
 *
 * <ol>
 *   <li>the data set is read (rows whose images cannot be decoded are skipped and counted), the
 *       last {@code validation} rows kept out of training;</li>
 *   <li>the images are encoded once by the base's VAE ({@code latents.bin} in the work folder);</li>
 *   <li>the ControlNet is trained ({@link ControlNetTraining}); checkpoints in
 *       {@code checkpoints/controlnet} (resumed by running again), a snapshot of the ControlNet's
 *       weights at each in {@code snapshots/} (for fidelity-against-steps evaluations);</li>
 *   <li>{@code controlnet.safetensors} (fp16, diffusers' names), {@code model/} (the base's files
 *       plus {@code controlnet0.safetensors}: a trained model folder) and its bundle ({@code bundle/}),
 *       the loss curve and {@code summary.json}.</li>
 * </ol>
 */
public final class ControlNetRun {

    /**
     * @param condition  what the control images are (canny, scribble, ...): recorded with the result
     * @param column     the manifest's column of control images
     * @param bundleId   the id of the bundle written
     */
    public record Config(Path manifest, String column, Path base, Path workDir, String condition, String bundleId, int validation,
                         ControlNetTraining.Settings training, SampleSettings samples) {
        /** A checked training job's run; its paths are relative to {@code jobDir}. */
        public static Config of(dev.cnfarm.common.training.ControlNetJob j, Path jobDir, Path workDir) {
            return of(j, jobDir.resolve(j.dataset()), jobDir.resolve(j.base()), workDir);
        }

        /** A checked training job's run on a data set and base already on disk (a trainer's, fetched for the job). */
        public static Config of(dev.cnfarm.common.training.ControlNetJob j, Path manifest, Path base, Path workDir) {
            ControlNetTraining.Settings t = new ControlNetTraining.Settings(j.steps(), j.batch(), j.accumulation(), j.learningRate(),
                    j.warmupSteps(), j.emptyCaptionRate(), j.offsetNoise(), ControlNetTraining.Links.of(j.links()), j.reconnectAt(),
                    ControlNetTraining.Timesteps.of(j.timestepSampling()), j.emaDecay(), j.seed(), j.checkpointEvery(), j.unlockDecoderAt(),
                    j.decoderLearningRate());
            return new Config(manifest, j.column(), base, workDir, j.condition(), j.name(), j.validation(), t,
                    new SampleSettings(j.sampleEvery() > 0 ? j.sampleEvery() : j.checkpointEvery(), j.samples(), j.sampleSteps()));
        }
    }

    /**
     * Samples while training ({@link TrainingSamples}).
     *
     * @param every a sample every this many steps (a multiple of the checkpoint interval: samples are
     *              rendered from checkpoints); the last step is always sampled
     * @param count held-out rows rendered (0: none)
     * @param steps sampling steps per image
     */
    public record SampleSettings(int every, int count, int steps) {
        public static final SampleSettings NONE = new SampleSettings(1, 0, 20);

        public SampleSettings {
            if (every < 1 || count < 0 || steps < 1) {
                throw new IllegalArgumentException("the sample interval and steps must be at least 1 and the count at least 0");
            }
        }

        boolean due(long step, long lastStep) {
            return count > 0 && (step % every == 0 || step == lastStep);
        }
    }

    /** What a finished run measured. */
    public record Summary(String condition, String bundle, int trainRows, int validationRows, int skippedRows, double seconds,
                          double stepsPerSecond, double finalLoss, long controlnetParameters, long controlnetBytes, String links,
                          int steps, int batch, int accumulation, double learningRate, List<SampleGrid> samples) {}

    public static final String CONTROLNET_FILE = "controlnet.safetensors";
    public static final String SNAPSHOTS = "snapshots";
    public static final String SAMPLES = "samples";
    public static final String FIDELITY_CHART = "fidelity-controlnet.png";
    /** The base UNet with its decoder fine-tuned (the large-scale regime only). */
    public static final String UNET_FILE = "unet.safetensors";

    private ControlNetRun() {}

    public static Summary run(Config c, TrainingListener listener) {
        return run(c, listener, checkpoint -> { });
    }

    /** The folder of the checkpoint a run keeps in {@code workDir} (and resumes from). */
    public static Path checkpointDir(Path workDir) {
        return workDir.resolve("checkpoints").resolve(ControlNetTraining.STAGE);
    }

    /**
     * @param afterCheckpoint told of each complete checkpoint's folder, to copy it elsewhere (a
     *                        trainer keeps it in S3, so another trainer can resume the job)
     */
    public static Summary run(Config c, TrainingListener listener, java.util.function.Consumer<Path> afterCheckpoint) {
        return run(c, listener, afterCheckpoint, e -> false);
    }

    /**
     * @param checkpointWhenStoppedBy the listener's exceptions after which the step just made is
     *                                checkpointed before the run stops (a drained trainer's)
     */
    public static Summary run(Config c, TrainingListener listener, java.util.function.Consumer<Path> afterCheckpoint,
                              java.util.function.Predicate<RuntimeException> checkpointWhenStoppedBy) {
        Torch.configure();
        mkdirs(c.workDir());
        BaseModel base = BaseModel.read(c.base());
        ModelPreset preset = base.preset();
        PairedImages all = PairedImages.load(TrainingManifest.read(c.manifest(), c.column()));
        if (all.skipped() > 0) {
            listener.note("data: skipped " + all.skipped() + " rows whose images could not be used, e.g. " + all.skipReasons());
        }
        if (all.count() <= c.validation() + 1) {
            throw new IllegalArgumentException(c.manifest() + " has " + all.count() + " usable rows; training needs more than the "
                    + c.validation() + " kept for validation");
        }
        PairedImages train = all.range(0, all.count() - c.validation());
        int size = all.images().size();
        int factor = preset.vae().downFactor();
        if (size % factor != 0) {
            throw new IllegalArgumentException("the images are " + size + " pixels wide; the model needs a multiple of " + factor);
        }
        int latentSide = size / factor;
        listener.note("data: " + train.count() + " training rows, " + c.validation() + " kept out, " + size + " px, control images from column "
                + c.column());

        // latents by the base's VAE, scaled as the UNet was trained on them
        float[][] latents = LatentCache.load(c.workDir().resolve("latents.bin"), () -> {
            try (ParameterStore vae = new ParameterStore(spec -> base.weights().get(spec.onnxName()))) {
                VaeTraining.materialise(vae, preset.vae());
                return VaeTraining.encodeAll(vae, preset.vae(), train.images(), listener);
            }
        });
        if (latents.length != train.count()) {
            throw new IllegalStateException(c.workDir().resolve("latents.bin") + " holds " + latents.length + " latents for "
                    + train.count() + " rows: it belongs to another data set; delete it or use another work folder");
        }
        float scaling = preset.vae().scalingFactor();
        for (float[] l : latents) {
            for (int i = 0; i < l.length; i++) {
                l[i] *= scaling;
            }
        }
        long[][] tokens = new long[train.count()][];
        long[] empty;
        try (ClipTokenizer tok = ClipTokenizer.open(base.tokenizer())) {
            for (int i = 0; i < train.count(); i++) {
                tokens[i] = tok.encode(train.images().caption(i));
            }
            empty = tok.encode("");
        }

        Path checkpoints = checkpointDir(c.workDir());
        Path snapshots = c.workDir().resolve(SNAPSHOTS);
        mkdirs(snapshots);
        StageRunner.Result result;
        Map<String, long[]> shapes = new LinkedHashMap<>();
        long params;
        PairedImages heldOut = all.range(all.count() - c.validation(), all.count());
        TrainingSamples samples = new TrainingSamples(base, heldOut, c.condition(), shapes, c.workDir().resolve(SAMPLES), c.samples());
        mkdirs(c.workDir().resolve(SAMPLES));
        if (c.samples().count() > c.validation()) {
            listener.note("samples: " + c.samples().count() + " asked, " + c.validation() + " held-out rows to draw them from");
        }
        if (Checkpoint.exists(Checkpoint.resolve(checkpoints))) {
            samples.restore(Checkpoint.resolve(checkpoints));
        }
        try (ParameterStore store = new ParameterStore(ControlNetInit.of(base.weights(), ControlNetTraining.COMPONENT, c.training().seed()))) {
            ControlNetTraining.materialise(store, preset, latentSide);
            for (ParamSpec s : store.specs(ControlNetTraining.COMPONENT)) {
                shapes.put(s.key(), s.shape());
            }
            params = store.count(ControlNetTraining.COMPONENT);
            StageRunner runner = ControlNetTraining.runner(store, c.training(), checkpoints, listener)
                    .checkpointWhenStoppedBy(checkpointWhenStoppedBy)
                    .afterCheckpoint(step -> {
                        Path checkpoint = Checkpoint.resolve(checkpoints);
                        Path snap = snapshot(checkpoint, snapshots, step);
                        if (c.samples().due(step, c.training().steps()) && c.validation() > 0) {
                            SampleGrid g = samples.render(step, snap);
                            listener.note(String.format(java.util.Locale.ROOT, "samples at step %d: edge F1 %.3f (base alone %.3f), %.1f s",
                                    step, g.edgeF1(), g.baselineEdgeF1(), g.seconds()));
                            listener.sample(ControlNetTraining.STAGE, g);
                        }
                        samples.save(checkpoint); // the sample history travels with the checkpoint
                        afterCheckpoint.accept(checkpoint);
                    });
            result = ControlNetTraining.train(runner, store, preset, latents, train.controls(), tokens, empty, latentSide, c.training());
        }
        LossCurve.write(c.workDir().resolve("loss-controlnet.png"), "ControlNet (" + c.condition() + "): noise-prediction MSE",
                result.losses());
        if (!samples.history().isEmpty()) {
            FidelityCurve.write(c.workDir().resolve(FIDELITY_CHART), "ControlNet (" + c.condition() + "): samples' edge F1 against steps",
                    samples.history());
        }

        Path cnFile = c.workDir().resolve(CONTROLNET_FILE);
        writeControlNet(only(result.weights(), ControlNetTraining.COMPONENT), shapes, preset.name(), c.condition(), cnFile);
        // the large-scale regime trained the base's decoder too: the published model carries it
        Map<String, float[]> decoder = only(result.weights(), ModelGraphs.UNET);
        Path unet = decoder.isEmpty() ? null : writeUNet(base, decoder, c.workDir().resolve(UNET_FILE));
        ModelBundle bundle = publish(base, unet, cnFile, c.condition(), c.workDir(), c.bundleId(), "ControlNet (" + c.condition()
                + ") trained by farm train controlnet on " + c.manifest().getFileName() + " (" + train.count() + " rows, "
                + c.training().steps() + " steps, seed " + c.training().seed() + ") for the base " + preset.name());
        Path bundleDir = bundle.dir();
        ControlNetTraining.Settings t = c.training();
        Summary s = new Summary(c.condition(), bundleDir.toString(), train.count(), c.validation(), all.skipped(), result.seconds(),
                result.stepsPerSecond(), result.finalLoss(200), params, size(cnFile), t.links().name().toLowerCase(java.util.Locale.ROOT),
                t.steps(), t.batch(), t.accumulation(), t.learningRate(), samples.history());
        try {
            Json.mapper().writerWithDefaultPrettyPrinter().writeValue(c.workDir().resolve("summary.json").toFile(), s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        listener.note("bundle " + bundle.dir() + " (" + bundle.totalBytes() + " bytes)");
        return s;
    }

    /** Writes a ControlNet's weights (keyed {@code controlnet0.KEY}) as fp16 safetensors under diffusers' names. */
    public static void writeControlNet(Map<String, float[]> weights, Map<String, long[]> shapesByKey, String baseName, String condition,
                                       Path file) {
        Map<String, SafetensorsWriter.Tensor> tensors = new LinkedHashMap<>();
        String prefix = ControlNetTraining.COMPONENT + ".";
        weights.forEach((name, v) -> {
            String key = name.startsWith(prefix) ? name.substring(prefix.length()) : name;
            long[] shape = shapesByKey.get(key);
            if (shape == null) {
                throw new IllegalArgumentException(file + ": " + name + " is not a parameter of this ControlNet");
            }
            tensors.put(key, new SafetensorsWriter.Tensor(shape, v));
        });
        SafetensorsWriter.write(file, tensors, "F16", Map.of("format", "pt", "model", baseName, "component", "controlnet",
                "condition", condition));
    }

    /** {@code work/model} (the base plus the ControlNet) and its bundle in {@code work/bundle}. */
    public static ModelBundle publish(BaseModel base, Path controlnet, String condition, Path work, String bundleId, String description) {
        return publish(base, null, controlnet, condition, work, bundleId, description);
    }

    /** @param unet the UNet to publish instead of the base's (its decoder fine-tuned), or null */
    static ModelBundle publish(BaseModel base, Path unet, Path controlnet, String condition, Path work, String bundleId, String description) {
        Path model = work.resolve("model");
        writeModel(base, List.of(controlnet), List.of(condition), model);
        if (unet != null) {
            try {
                Files.copy(unet, model.resolve(UNET_FILE), StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + model.resolve(UNET_FILE) + ": " + e.getMessage(), e);
            }
        }
        Path bundleDir = work.resolve("bundle");
        ModelBundle.deleteQuietly(bundleDir);
        return TrainedModels.build(model, bundleId, 1, bundleDir, description);
    }

    /**
     * Bundles of the snapshots a run kept ({@code snapshots/step-N.safetensors}), one per snapshot in
     * {@code work/snapshot-bundles/step-N} with the id {@code bundleId-step-N}: the models a
     * fidelity-against-steps evaluation renders with.
     */
    public static List<Path> publishSnapshots(Path baseFolder, Path work, String condition, String bundleId, int every) {
        BaseModel base = BaseModel.read(baseFolder);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        try (ParameterStore store = new ParameterStore(ControlNetInit.of(base.weights(), ControlNetTraining.COMPONENT, 1))) {
            ControlNetTraining.materialise(store, base.preset(), 8);
            store.specs(ControlNetTraining.COMPONENT).forEach(s -> shapes.put(s.key(), s.shape()));
        }
        List<Path> out = new java.util.ArrayList<>();
        try (var files = Files.list(work.resolve(SNAPSHOTS))) {
            for (Path snap : files.filter(p -> p.getFileName().toString().matches("step-\\d+\\.safetensors")).sorted().toList()) {
                long step = Long.parseLong(snap.getFileName().toString().replaceAll("\\D", ""));
                if (step % every != 0) {
                    continue;
                }
                Path dir = work.resolve("snapshot-bundles").resolve("step-" + step);
                Path cn = dir.resolve(CONTROLNET_FILE);
                Files.createDirectories(dir);
                Map<String, float[]> weights = Checkpoint.readTensors(snap);
                writeControlNet(only(weights, ControlNetTraining.COMPONENT), shapes, base.preset().name(), condition, cn);
                Map<String, float[]> decoder = only(weights, ModelGraphs.UNET);
                Path unet = decoder.isEmpty() ? null : writeUNet(base, decoder, dir.resolve(UNET_FILE));
                out.add(publish(base, unet, cn, condition, dir, bundleId + "-step-" + step, "snapshot at step " + step + " of " + bundleId)
                        .dir());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the snapshots of " + work + ": " + e.getMessage(), e);
        }
        return out;
    }

    /**
     * A trained model folder: the base's files and the given ControlNets as {@code controlnet0},
     * {@code controlnet1}, ... (in the order of the controlled graph's slots), named in
     * {@code controlnets.json} by what they were trained for.
     */
    public static void writeModel(BaseModel base, List<Path> controlnets, List<String> names, Path dir) {
        try {
            ModelBundle.deleteQuietly(dir);
            Files.createDirectories(dir.resolve("tokenizer"));
            for (String f : List.of(TrainedModels.MODEL_JSON, "unet.safetensors", "text_encoder.safetensors", "vae.safetensors",
                    "tokenizer/vocab.json", "tokenizer/merges.txt")) {
                Files.copy(base.folder().resolve(f), dir.resolve(f));
            }
            for (int i = 0; i < controlnets.size(); i++) {
                Files.copy(controlnets.get(i), dir.resolve(ModelGraphs.controlnetComponent(i) + ".safetensors"));
            }
            Json.mapper().writeValue(dir.resolve(TrainedModels.CONTROLNETS_JSON).toFile(), names);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the model folder " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The weights of one component ({@code component.*} graph names). */
    static Map<String, float[]> only(Map<String, float[]> weights, String component) {
        Map<String, float[]> out = new LinkedHashMap<>();
        weights.forEach((k, v) -> {
            if (k.startsWith(component + ".")) {
                out.put(k, v);
            }
        });
        return out;
    }

    /** The base's UNet with the given weights ({@code unet.*} graph names) in place of its own, in the base file's dtype. */
    static Path writeUNet(BaseModel base, Map<String, float[]> replaced, Path file) {
        Map<String, SafetensorsWriter.Tensor> tensors = new LinkedHashMap<>();
        String dtype;
        Map<String, String> metadata;
        try (dev.cnfarm.models.weights.SafetensorsFile f = dev.cnfarm.models.weights.SafetensorsFile.open(base.folder().resolve(UNET_FILE))) {
            dtype = f.tensors().values().iterator().next().dtype();
            metadata = new LinkedHashMap<>(f.metadata());
            for (var t : f.tensors().values()) {
                String name = ModelGraphs.UNET + "." + t.name();
                float[] v = replaced.containsKey(name) ? replaced.get(name) : base.weights().get(name);
                tensors.put(t.name(), new SafetensorsWriter.Tensor(t.shape(), v));
            }
        }
        metadata.put("fine_tuned", replaced.size() + " decoder tensors trained with a ControlNet (the large-scale regime)");
        SafetensorsWriter.write(file, tensors, dtype, metadata);
        return file;
    }

    /** Keeps the checkpoint's ControlNet weights (the moving average when there is one) as snapshots/step-NNNNNN.safetensors. */
    private static Path snapshot(Path checkpoint, Path snapshots, long step) {
        Path src = checkpoint.resolve(Files.isRegularFile(checkpoint.resolve(Checkpoint.EMA)) ? Checkpoint.EMA : Checkpoint.WEIGHTS);
        try {
            Path tmp = snapshots.resolve(String.format("step-%06d.tmp", step));
            Files.copy(src, tmp, StandardCopyOption.REPLACE_EXISTING);
            Path snap = snapshots.resolve(String.format("step-%06d.safetensors", step));
            Files.move(tmp, snap, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return snap;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep a snapshot of " + src + ": " + e.getMessage(), e);
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void mkdirs(Path p) {
        try {
            Files.createDirectories(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + p + ": " + e.getMessage(), e);
        }
    }
}
