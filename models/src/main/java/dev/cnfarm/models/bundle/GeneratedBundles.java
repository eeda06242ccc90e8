package dev.cnfarm.models.bundle;

import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.weights.RandomWeights;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Bundles the farm generates for itself, cached in a model folder: built once, then opened. Used
 * for the embedded default (the tiny preset) and for tests; several processes sharing the folder
 * may ask at once (see {@link ModelBundle#publish}).
 */
public final class GeneratedBundles {
    /** The tiny preset with one ControlNet, random weights with ControlNet active (non-zero zero convolutions). */
    public static final String TINY_ID = "tiny";
    public static final long SEED = 20230210L;
    /** Changes whenever the graph builder changes what it writes, so cached bundles are rebuilt. */
    static final String GENERATOR = "cnfarm graphs v2";
    private static final String WEIGHTS = "random, seed " + SEED + ", zero convolutions random (so control shows); " + GENERATOR;

    private GeneratedBundles() {}

    public static ModelBundle tiny(Path modelsRoot) {
        Path dir = modelsRoot.resolve(TINY_ID);
        if (Files.exists(dir)) {
            try {
                ModelBundle b = ModelBundle.open(dir);
                if (WEIGHTS.equals(b.manifest().weights())) {
                    return b;
                }
            } catch (BundleException e) {
                // damaged: rebuilt below
            }
            ModelBundle.discard(dir);
        }
        return BundleBuilder.build(dir, new BundleBuilder.Options(TINY_ID, ModelPreset.tiny(), 1, Storage.FP32, null),
                new RandomWeights(SEED, false), WEIGHTS,
                (done, total, graph) -> { });
    }
}
