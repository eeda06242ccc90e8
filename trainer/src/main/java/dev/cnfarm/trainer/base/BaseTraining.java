package dev.cnfarm.trainer.base;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.arch.VaeConfig;
import dev.cnfarm.models.bundle.TrainedModels;
import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.weights.SafetensorsWriter;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.tokenizer.ClipVocabulary;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.trainer.data.ImageSet;
import dev.cnfarm.trainer.data.TrainingManifest;
import dev.cnfarm.trainer.torch.ParameterStore;
import dev.cnfarm.trainer.torch.Torch;
import dev.cnfarm.trainer.train.LossCurve;
import dev.cnfarm.trainer.train.StageRunner;
import dev.cnfarm.trainer.train.TrainingListener;
import dev.cnfarm.worker.engine.text.ClipTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains a base model from scratch on a captioned data set, in two stages, and writes it as a
 * model bundle the workers serve:
 *
 * <ol>
 *   <li>{@code vae}: the autoencoder ({@link VaeTraining}); then its latents' scaling factor is
 *       measured (1 / their standard deviation) and every training image is encoded once;</li>
 *   <li>{@code diffusion}: the text encoder and the UNet together on those latents
 *       ({@link DiffusionTraining});</li>
 *   <li>the trained model ({@code model/}: model.json, fp16 safetensors per component, the
 *       tokenizer; text encoder and UNet from the moving average) and its bundle ({@code bundle/}).</li>
 * </ol>
 *
 * Everything lives in a work folder: each stage's checkpoint (resumed when the command is run
 * again), the latent cache, loss curves ({@code loss-vae.png}, {@code loss-diffusion.png}), the
 * model and bundle, and {@code summary.json} with the measurements. The last
 * {@code validation} rows of the manifest are never trained on; the VAE's PSNR is measured on them.
 */
public final class BaseTraining {

    public record Config(Path manifest, Path workDir, ModelPreset preset, ClipVocabulary vocabulary, String bundleId, int validation,
                         VaeTraining.Settings vae, DiffusionTraining.Settings diffusion) {}

    /** What a finished run measured. */
    public record Summary(String bundle, int trainImages, int validationImages, double vaeSeconds, double vaeStepsPerSecond,
                          double vaeFinalLoss, double vaePsnr, float scalingFactor, double diffusionSeconds,
                          double diffusionStepsPerSecond, double diffusionFinalLoss, long unetParameters, long textEncoderParameters,
                          long vaeParameters, long bundleBytes) {}

    private BaseTraining() {}

    public static Summary run(Config c, TrainingListener listener) {
        Torch.configure();
        try {
            Files.createDirectories(c.workDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + c.workDir() + ": " + e.getMessage(), e);
        }
        ImageSet all = ImageSet.load(TrainingManifest.read(c.manifest()));
        if (all.count() <= c.validation() + 1) {
            throw new IllegalArgumentException(c.manifest() + " has " + all.count() + " images; training needs more than the "
                    + c.validation() + " kept for validation");
        }
        ImageSet train = all.range(0, all.count() - c.validation());
        ImageSet validation = all.range(all.count() - c.validation(), all.count());
        listener.note("data: " + train.count() + " training images, " + validation.count() + " for validation, " + all.size() + " px");
        int latentSide = all.size() / c.preset().vae().downFactor();

        List<ParamSpec> shapeSpecs = new java.util.ArrayList<>();

        // ---- stage 1: the autoencoder
        VaeConfig vaeConfig = c.preset().vae();
        Map<String, float[]> vaeWeights;
        StageRunner.Result vae;
        double psnr;
        float[][] latents;
        try (ParameterStore store = new ParameterStore(new RandomWeights(c.vae().seed(), true))) {
            VaeTraining.materialise(store, vaeConfig);
            vae = VaeTraining.train(store, vaeConfig, train, c.vae(), c.workDir().resolve("checkpoints").resolve(VaeTraining.STAGE), listener);
            LossCurve.write(c.workDir().resolve("loss-vae.png"), "VAE: L1 + MSE + KL", vae.losses());
            psnr = VaeTraining.psnr(store, vaeConfig, validation, validation.count());
            listener.note(String.format("vae: PSNR %.2f dB on %d validation images", psnr, validation.count()));
            vaeWeights = vae.weights();
            shapeSpecs.addAll(store.specs());
            latents = dev.cnfarm.trainer.data.LatentCache.load(c.workDir().resolve("latents.bin"), () -> VaeTraining.encodeAll(store, vaeConfig, train, listener));
        }
        float scaling = scalingFactor(latents);
        for (float[] l : latents) {
            for (int i = 0; i < l.length; i++) {
                l[i] *= scaling;
            }
        }
        listener.note(String.format("vae: latent scaling factor %.5f", scaling));
        ModelPreset preset = new ModelPreset(c.preset().name(), c.preset().unet(), c.preset().controlnet(), c.preset().textEncoder(),
                new VaeConfig(vaeConfig.inChannels(), vaeConfig.outChannels(), vaeConfig.latentChannels(), vaeConfig.blockOutChannels(),
                        vaeConfig.layersPerBlock(), vaeConfig.normNumGroups(), scaling));

        // ---- stage 2: text encoder and UNet
        Path tokenizerDir = c.workDir().resolve("tokenizer");
        c.vocabulary().write(tokenizerDir);
        long[][] tokens = new long[train.count()][];
        long[] empty;
        try (ClipTokenizer tok = ClipTokenizer.open(tokenizerDir)) {
            for (int i = 0; i < train.count(); i++) {
                tokens[i] = tok.encode(train.caption(i));
            }
            empty = tok.encode("");
        }
        StageRunner.Result diffusion;
        Map<String, float[]> weights = new LinkedHashMap<>(vaeWeights);
        long unetParams;
        long textParams;

        try (ParameterStore store = new ParameterStore(new RandomWeights(c.diffusion().seed(), true))) {
            DiffusionTraining.materialise(store, preset.unet(), preset.textEncoder(), latentSide);
            diffusion = DiffusionTraining.train(store, preset.unet(), preset.textEncoder(), latents, tokens, empty, latentSide,
                    c.diffusion(), c.workDir().resolve("checkpoints").resolve(DiffusionTraining.STAGE), listener);
            LossCurve.write(c.workDir().resolve("loss-diffusion.png"), "text encoder + UNet: weighted noise-prediction MSE",
                    diffusion.losses());
            weights.putAll(diffusion.weights());
            unetParams = store.count(ModelGraphs.UNET);
            shapeSpecs.addAll(store.specs());
            textParams = store.count(ModelGraphs.TEXT_ENCODER);
        }

        // ---- the trained model (portable: model.json, safetensors, tokenizer) and its bundle
        Path export = c.workDir().resolve("model");
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapeSpecs.forEach(s -> shapes.put(s.onnxName(), s.shape()));
        exportModel(export, preset, weights, shapes, tokenizerDir);
        Path bundleDir = c.workDir().resolve("bundle");
        ModelBundle.deleteQuietly(bundleDir);
        ModelBundle bundle = TrainedModels.build(export, c.bundleId(), 0, bundleDir,
                "trained by farm train base on " + c.manifest().getFileName() + " (" + train.count() + " images; vae "
                        + c.vae().steps() + " steps, diffusion " + c.diffusion().steps() + " steps, seed " + c.diffusion().seed() + ")");
        long vaeParams = vaeWeights.values().stream().mapToLong(v -> v.length).sum();
        Summary s = new Summary(bundleDir.toString(), train.count(), validation.count(), vae.seconds(), vae.stepsPerSecond(),
                vae.finalLoss(100), psnr, scaling, diffusion.seconds(), diffusion.stepsPerSecond(), diffusion.finalLoss(200), unetParams,
                textParams, vaeParams, bundle.totalBytes());
        try {
            Json.mapper().writerWithDefaultPrettyPrinter().writeValue(c.workDir().resolve("summary.json").toFile(), s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return s;
    }

    /**
     * A model folder of the preset with random weights and the shapes vocabulary: the shape of what
     * {@code farm train base} writes, before any training. For trying the ControlNet training path
     * (and testing it) without first spending an hour on a base.
     */
    public static Path randomModel(Path folder, ModelPreset preset, long seed) {
        Map<String, float[]> weights = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        try (ParameterStore store = new ParameterStore(new RandomWeights(seed, true))) {
            VaeTraining.materialise(store, preset.vae());
            DiffusionTraining.materialise(store, preset.unet(), preset.textEncoder(), 8);
            store.specs().forEach(s -> {
                weights.put(s.onnxName(), store.values(s.onnxName()));
                shapes.put(s.onnxName(), s.shape());
            });
        }
        Path tokenizer = folder.resolveSibling(folder.getFileName() + "-tokenizer");
        ShapesPreset.vocabulary().write(tokenizer);
        exportModel(folder, preset, weights, shapes, tokenizer);
        return folder;
    }

    /**
     * Writes a trained model folder ({@link TrainedModels}): model.json, one fp16 safetensors file
     * per component under diffusers' keys, the tokenizer.
     */
    public static void exportModel(Path dir, ModelPreset preset, Map<String, float[]> weights, Map<String, long[]> shapes, Path tokenizerDir) {
        try {
            ModelBundle.deleteQuietly(dir);
            Files.createDirectories(dir.resolve("tokenizer"));
            preset.write(dir.resolve(TrainedModels.MODEL_JSON));
            Map<String, Map<String, SafetensorsWriter.Tensor>> byComponent = new LinkedHashMap<>();
            weights.forEach((name, values) -> {
                int dot = name.indexOf('.');
                byComponent.computeIfAbsent(name.substring(0, dot), k -> new LinkedHashMap<>())
                        .put(name.substring(dot + 1), new SafetensorsWriter.Tensor(shapes.get(name), values));
            });
            for (Map.Entry<String, Map<String, SafetensorsWriter.Tensor>> e : byComponent.entrySet()) {
                SafetensorsWriter.write(dir.resolve(e.getKey() + ".safetensors"), e.getValue(), "F16",
                        Map.of("format", "pt", "model", preset.name(), "component", e.getKey()));
            }
            for (String f : List.of("vocab.json", "merges.txt")) {
                Files.copy(tokenizerDir.resolve(f), dir.resolve("tokenizer").resolve(f));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the trained model to " + dir + ": " + e.getMessage(), e);
        }
    }

    /** 1 / the standard deviation of every latent value. */
    static float scalingFactor(float[][] latents) {
        double sum = 0;
        double sq = 0;
        long n = 0;
        for (float[] l : latents) {
            for (float v : l) {
                sum += v;
                sq += (double) v * v;
                n++;
            }
        }
        double mean = sum / n;
        return (float) (1 / Math.sqrt(sq / n - mean * mean));
    }

    /** The settings of the shipped {@code shapes} model (the reproducing command's defaults). */
    public static Config shapes(Path manifest, Path workDir, int vaeSteps, int diffusionSteps, long seed) {
        return new Config(manifest, workDir, ShapesPreset.preset(1f), ShapesPreset.vocabulary(), ShapesPreset.NAME, 256,
                new VaeTraining.Settings(vaeSteps, 16, 64, 1e-3, 1e-6, seed, 250),
                new DiffusionTraining.Settings(diffusionSteps, 32, 1e-3, 200, 0.1, 0.1, 5, 0.999, seed, 250));
    }

    static List<String> stages() {
        return List.of(VaeTraining.STAGE, DiffusionTraining.STAGE);
    }
}
