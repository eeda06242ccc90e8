package dev.cnfarm.models.skeleton;

import dev.cnfarm.models.bundle.BundleException;
import dev.cnfarm.models.bundle.BundleManifest;
import dev.cnfarm.models.bundle.ModelBundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The bundle holding {@link SkeletonModel}, generated on demand into a worker's model folder. */
public final class SkeletonBundle {
    public static final String ID = "skeleton";
    public static final String ARCHITECTURE = "skeleton-conv";
    public static final String DENOISER = "denoiser";
    /** Fixed so that every worker generates byte-identical weights. */
    public static final long WEIGHT_SEED = 20230210L;

    private SkeletonBundle() {}

    /** Opens {@code modelsRoot/skeleton}, generating it first if it is missing or damaged. */
    public static ModelBundle ensure(Path modelsRoot) {
        Path dir = modelsRoot.resolve(ID);
        if (Files.exists(dir)) {
            try {
                return ModelBundle.open(dir);
            } catch (BundleException e) {
                // a damaged cache is rebuilt rather than failing the worker
                ModelBundle.discard(dir);
            }
        }
        List<String> dims = List.of("1", "3", "height", "width");
        BundleManifest.GraphInfo denoiser = new BundleManifest.GraphInfo("denoiser.onnx",
                List.of(new BundleManifest.TensorSpec(SkeletonModel.INPUT_CONTROL, "float32", dims),
                        new BundleManifest.TensorSpec(SkeletonModel.INPUT_NOISE, "float32", dims),
                        new BundleManifest.TensorSpec(SkeletonModel.INPUT_NOISE_LEVEL, "float32", List.of("1"))),
                List.of(new BundleManifest.TensorSpec(SkeletonModel.OUTPUT_IMAGE, "float32", dims)));
        BundleManifest manifest = new BundleManifest(BundleManifest.FORMAT_VERSION, ID, ARCHITECTURE, "", "fp32", 0,
                "placeholder model of the walking skeleton: convolutions over control image and noise",
                Map.of(DENOISER, denoiser), List.of(), "generated, seed " + WEIGHT_SEED, Map.of(), List.of());
        return ModelBundle.write(dir, manifest, Map.of("denoiser.onnx", SkeletonModel.build(WEIGHT_SEED).toByteArray()));
    }
}
