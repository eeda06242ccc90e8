package dev.cnfarm.cli.commands.models;

import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.weights.LoraWeights;
import dev.cnfarm.models.weights.OriginalWeights;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.models.weights.SafetensorsFile;
import dev.cnfarm.models.weights.SafetensorsWeights;
import dev.cnfarm.models.weights.TorchCheckpoint;
import dev.cnfarm.models.weights.WeightSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code farm models import}: a bundle from {@code .safetensors} files: diffusers-format components
 * (UNet, ControlNets, text encoder, VAE), or a single-file SD1.5 checkpoint in the original (LDM,
 * A1111) layout, and ControlNets in either layout (told apart by their keys). Every file is checked
 * against the architecture, name by name and shape by shape, before anything is written.
 */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = {"Build a bundle from .safetensors weights (checked tensor by tensor before anything is written): diffusers-format "
                + "component files, or a single-file SD1.5 checkpoint in the original layout (--checkpoint, as A1111 and ComfyUI "
                + "load them), with ControlNets in either layout (control_v11p_sd15_canny's keys or diffusers').",
                "Any file may be a PyTorch .ckpt / .pth instead: it is read by a restricted reader that runs nothing from the file and "
                        + "refuses every pickle instruction or global a state dict does not need."})
public final class ImportCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "sd15", description = "architecture of the weights: sd15 or tiny, or their -inpainting forms (a UNet of 9 input channels is "
            + "recognised by itself; default ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--unet", description = "UNet weights (unet/diffusion_pytorch_model.safetensors)")
    Path unet;

    @Option(names = "--checkpoint", description = "a single-file SD1.5 checkpoint in the original layout (v1-5-pruned-emaonly.safetensors): "
            + "UNet, VAE and text encoder from one file")
    Path checkpoint;

    @Option(names = "--lora", paramLabel = "FILE[:WEIGHT]", description = "a LoRA file (kohya's or diffusers/PEFT's layout) merged into "
            + "the weights at WEIGHT (default 1); repeatable")
    List<String> loras = new ArrayList<>();

    @Option(names = "--ema", description = "with --checkpoint: read the UNet from the file's EMA copy (model_ema.*)")
    boolean ema;

    @Option(names = "--controlnet", description = "ControlNet weights, one per ControlNet, in order (repeatable)")
    List<Path> controlnets = new ArrayList<>();

    @Option(names = "--text-encoder", description = "text encoder weights (text_encoder/model.safetensors)")
    Path textEncoder;

    @Option(names = "--vae", description = "VAE weights (vae/diffusion_pytorch_model.safetensors)")
    Path vae;

    @Option(names = "--tokenizer", description = "tokenizer folder (tokenizer.json, or vocab.json + merges.txt)")
    Path tokenizer;

    @Option(names = "--allow-random", description = "let components without a weights file keep random weights (for testing)")
    boolean allowRandom;

    @Option(names = "--dtype", defaultValue = "fp32", description = "weight storage: fp32 or fp16 (default ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--out", required = true, description = "bundle folder to create")
    Path out;

    @Option(names = "--id", description = "bundle id (default: the output folder's name)")
    String id;

    @Override
    public Integer call() {
        ModelPreset p = ModelPreset.named(preset);
        GraphBuilder.Storage storage = BuildCommand.storage(dtype);
        if (Files.exists(out)) {
            throw new IllegalArgumentException("--out " + out + " exists already; choose a new folder");
        }
        if ((unet == null) == (checkpoint == null)) {
            throw new IllegalArgumentException("give the UNet with --unet (diffusers layout) or a whole model with --checkpoint (original "
                    + "layout), one of the two");
        }
        if (checkpoint != null && (textEncoder != null || vae != null)) {
            throw new IllegalArgumentException("--checkpoint brings its own text encoder and VAE; drop --text-encoder and --vae");
        }
        if (ema && checkpoint == null) {
            throw new IllegalArgumentException("--ema reads a single-file checkpoint's EMA copy: give --checkpoint");
        }
        if (checkpoint == null && !allowRandom && (textEncoder == null || vae == null)) {
            throw new IllegalArgumentException("give --text-encoder and --vae too (or --allow-random to leave them random)");
        }
        Map<String, Path> files = new LinkedHashMap<>();
        if (unet != null) {
            files.put(ModelGraphs.UNET, unet);
        }
        for (int i = 0; i < controlnets.size(); i++) {
            files.put(ModelGraphs.controlnetComponent(i), controlnets.get(i));
        }
        if (textEncoder != null) {
            files.put(ModelGraphs.TEXT_ENCODER, textEncoder);
        }
        if (vae != null) {
            files.put(ModelGraphs.VAE, vae);
        }
        Map<String, SafetensorsFile> diffusers = new LinkedHashMap<>();
        Path converted = null;
        try (OriginalWeights original = new OriginalWeights(ema)) {
            converted = Files.createTempDirectory("farm-import-");
            if (checkpoint != null) {
                SafetensorsFile ckpt = open(checkpoint, converted);
                p = inpaintingWhenNineChannels(p, ckpt, "model.diffusion_model.input_blocks.0.0.weight");
                original.addCheckpoint(ckpt);
            }
            for (Map.Entry<String, Path> f : files.entrySet()) {
                SafetensorsFile opened = open(f.getValue(), converted);
                if (f.getKey().equals(ModelGraphs.UNET)) {
                    p = inpaintingWhenNineChannels(p, opened, "conv_in.weight");
                }
                if (f.getKey().startsWith("controlnet") && OriginalWeights.isOriginal(opened)) {
                    original.addControlNet(opened, f.getKey());
                } else {
                    diffusers.put(f.getKey(), opened);
                }
            }
            try (SafetensorsWeights weights = new SafetensorsWeights(diffusers)) {
                List<ParamSpec> params = new ArrayList<>();
                BundleBuilder.graphs(p, controlnets.size(), storage, BundleBuilder.referenceSize(p)).values()
                        .forEach(g -> params.addAll(g.params()));
                weights.bind(params);
                original.bind(params);
                original.notes().forEach(n -> System.out.println("note: " + n));
                if (!allowRandom) {
                    List<String> uncovered = params.stream().map(ParamSpec::component).distinct()
                            .filter(c -> !weights.covers(c) && !original.components().contains(c)).toList();
                    if (!uncovered.isEmpty()) {
                        throw new IllegalArgumentException("no weights were given for " + uncovered + " (or --allow-random to leave them random)");
                    }
                }
                WeightSource fallback = weights.orElse(new RandomWeights(0, true));
                WeightSource read = spec -> original.components().contains(spec.component()) ? original.values(spec) : fallback.values(spec);
                WeightSource all = read;
                if (!loras.isEmpty()) {
                    LoraWeights merged = new LoraWeights(read, params, loras.stream().map(ImportCommand::lora).toList());
                    merged.notes().forEach(n -> System.out.println("LoRA " + n));
                    all = merged;
                }
                String bundleId = id == null ? out.getFileName().toString() : id;
                long t0 = System.nanoTime();
                ModelBundle b;
                String description = (checkpoint != null ? "original-layout checkpoint " + checkpoint.getFileName() + (ema ? " (EMA)" : "") + "; "
                        : "") + "safetensors: " + files + (loras.isEmpty() ? "" : "; LoRA merged: " + loras);
                try (BundleProgress progress = new BundleProgress()) {
                    b = BundleBuilder.build(out, new BundleBuilder.Options(bundleId, p, controlnets.size(), storage, null, tokenizer),
                            all, description, progress);
                }
                System.out.printf("imported bundle %s from %d weights file(s) into %s in %.1f s (%,d bytes)%n", bundleId,
                        files.size() + (checkpoint != null ? 1 : 0), out, (System.nanoTime() - t0) / 1e9, b.totalBytes());
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot make a folder for converted files: " + e.getMessage(), e);
        } finally {
            diffusers.values().forEach(SafetensorsFile::close);
            dev.cnfarm.common.storage.Folders.deleteQuietly(converted);
        }
        return 0;
    }

    /**
     * The preset's inpainting form when the file's UNet takes 9 input channels (latent, mask, masked
     * image's latent), as sd-v1-5-inpainting's does: such a file names its architecture itself.
     */
    private static ModelPreset inpaintingWhenNineChannels(ModelPreset p, SafetensorsFile file, String convIn) {
        SafetensorsFile.TensorInfo t = file.tensors().get(convIn);
        if (t != null && t.shape().length == 4 && t.shape()[1] == ModelPreset.INPAINTING_CHANNELS && !p.isInpainting()) {
            System.out.println("note: the UNet takes " + ModelPreset.INPAINTING_CHANNELS + " input channels (latent, mask, masked image): "
                    + "an inpainting UNet, built as preset " + p.inpainting().name());
            return p.inpainting();
        }
        return p;
    }

    /** {@code FILE[:WEIGHT]}: a LoRA file and its weight (1 when not given). */
    private static LoraWeights.Lora lora(String spec) {
        int colon = spec.lastIndexOf(':');
        if (colon > 0 && spec.substring(colon + 1).matches("-?\\d+(\\.\\d+)?")) {
            return new LoraWeights.Lora(Path.of(spec.substring(0, colon)), Double.parseDouble(spec.substring(colon + 1)));
        }
        return new LoraWeights.Lora(Path.of(spec), 1);
    }

    /**
     * A weights file opened as safetensors: a PyTorch {@code .ckpt} / {@code .pth} is first read by
     * the restricted reader (no code from the file runs) and written as safetensors into {@code tmp}.
     */
    private static SafetensorsFile open(Path file, Path tmp) {
        if (!TorchCheckpoint.isTorchFile(file)) {
            return SafetensorsFile.open(file);
        }
        Path out = tmp.resolve(file.getFileName() + ".safetensors");
        long t0 = System.nanoTime();
        TorchCheckpoint.Result r = TorchCheckpoint.toSafetensors(file, out);
        System.out.printf("read %s (%d tensors%s) in %.1f s%n", file.getFileName(), r.tensors().size(),
                r.skipped().isEmpty() ? "" : ", passed over: " + String.join(", ", r.skipped().subList(0, Math.min(5, r.skipped().size()))),
                (System.nanoTime() - t0) / 1e9);
        return SafetensorsFile.open(out);
    }

}
