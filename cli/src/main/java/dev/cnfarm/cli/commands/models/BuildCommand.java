package dev.cnfarm.cli.commands.models;

import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.BundleFile;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.weights.RandomWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code farm models build}: a bundle with seeded random weights (compute cost does not depend on weight values). */
@Command(name = "build", mixinStandardHelpOptions = true,
        description = "Build a model bundle with seeded random weights: text encoder, UNet, controlled UNet, VAE decoder and encoder.")
public final class BuildCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "tiny", description = "sd15 (full SD1.5 size) or tiny (default ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--controlnets", defaultValue = "1", description = "ControlNets in the controlled UNet, 0 to 8 (default ${DEFAULT-VALUE})")
    int controlnets;

    @Option(names = "--dtype", defaultValue = "fp32", description = "weight storage: fp32 or fp16 (default ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--out", required = true, description = "bundle folder to create")
    Path out;

    @Option(names = "--id", description = "bundle id, the model jobs name (default: the preset)")
    String id;

    @Option(names = "--seed", defaultValue = "20230210", description = "weight seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--random-zero-convs", description = "give ControlNet's zero convolutions random values (default: zero, as in the paper)")
    boolean randomZeroConvs;

    @Override
    public Integer call() {
        ModelPreset p = ModelPreset.named(preset);
        Storage storage = storage(dtype);
        if (controlnets < 0 || controlnets > 8) {
            throw new IllegalArgumentException("--controlnets must be 0 to 8, not " + controlnets);
        }
        if (Files.exists(out)) {
            throw new IllegalArgumentException("--out " + out + " exists already; choose a new folder");
        }
        String bundleId = id == null ? p.name() : id;
        long t0 = System.nanoTime();
        ModelBundle b;
        try (BundleProgress progress = new BundleProgress()) {
            b = BundleBuilder.build(out, new BundleBuilder.Options(bundleId, p, controlnets, storage, null),
                    new RandomWeights(seed, !randomZeroConvs),
                    "random, seed " + seed + (randomZeroConvs ? ", zero convolutions random" : ", zero convolutions at zero"), progress);
        }
        System.out.printf("built bundle %s (%s, %d ControlNet(s), %s) in %s in %.1f s%n", bundleId, p.name(), controlnets, dtype, out,
                (System.nanoTime() - t0) / 1e9);
        for (BundleFile f : b.manifest().files()) {
            System.out.printf("  %-24s %,15d bytes%n", f.path(), f.sizeBytes());
        }
        System.out.printf("  %-24s %,15d bytes%n", "total", b.totalBytes());
        return 0;
    }

    static Storage storage(String dtype) {
        return switch (dtype) {
            case "fp32" -> Storage.FP32;
            case "fp16" -> Storage.FP16;
            default -> throw new IllegalArgumentException("--dtype must be fp32 or fp16, not " + dtype);
        };
    }
}
