package dev.cnfarm.cli.commands.models;

import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.models.weights.SafetensorsFile;
import dev.cnfarm.models.weights.SafetensorsWeights;
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
 * {@code farm models import}: a bundle from diffusers-format {@code .safetensors} files (UNet,
 * ControlNets, text encoder, VAE). Every file is checked against the architecture, name by name
 * and shape by shape, before anything is written.
 */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = "Build a bundle from diffusers-format .safetensors weights (checked tensor by tensor before anything is written).")
public final class ImportCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "sd15", description = "architecture of the weights: sd15 or tiny (default ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--unet", required = true, description = "UNet weights (unet/diffusion_pytorch_model.safetensors)")
    Path unet;

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
        if (!allowRandom && (textEncoder == null || vae == null)) {
            throw new IllegalArgumentException("give --text-encoder and --vae too (or --allow-random to leave them random)");
        }
        Map<String, Path> files = new LinkedHashMap<>();
        files.put(ModelGraphs.UNET, unet);
        for (int i = 0; i < controlnets.size(); i++) {
            files.put(ModelGraphs.controlnetComponent(i), controlnets.get(i));
        }
        if (textEncoder != null) {
            files.put(ModelGraphs.TEXT_ENCODER, textEncoder);
        }
        if (vae != null) {
            files.put(ModelGraphs.VAE, vae);
        }
        Map<String, SafetensorsFile> opened = new LinkedHashMap<>();
        try {
            files.forEach((component, file) -> opened.put(component, SafetensorsFile.open(file)));
            try (SafetensorsWeights weights = new SafetensorsWeights(opened)) {
                List<ParamSpec> params = new ArrayList<>();
                BundleBuilder.graphs(p, controlnets.size(), storage, BundleBuilder.referenceSize(p)).values()
                        .forEach(g -> params.addAll(g.params()));
                weights.bind(params);
                String bundleId = id == null ? out.getFileName().toString() : id;
                long t0 = System.nanoTime();
                ModelBundle b;
                try (BundleProgress progress = new BundleProgress()) {
                    b = BundleBuilder.build(out, new BundleBuilder.Options(bundleId, p, controlnets.size(), storage, null, tokenizer),
                            weights.orElse(new RandomWeights(0, true)), "safetensors: " + files, progress);
                }
                System.out.printf("imported bundle %s from %d weights file(s) into %s in %.1f s (%,d bytes)%n", bundleId, files.size(), out,
                        (System.nanoTime() - t0) / 1e9, b.totalBytes());
            }
        } finally {
            opened.values().forEach(SafetensorsFile::close);
        }
        return 0;
    }
}
