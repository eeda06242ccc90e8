package dev.cnfarm.models.skeleton;

import dev.cnfarm.models.bundle.BundleException;
import dev.cnfarm.models.bundle.ModelBundle;
import java.nio.file.Files;
import java.nio.file.Path;
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
        return ModelBundle.write(dir, ID, ARCHITECTURE, "fp32",
                "placeholder model of the walking skeleton: convolutions over control image and noise",
                Map.of(DENOISER, "denoiser.onnx"),
                Map.of("denoiser.onnx", SkeletonModel.build(WEIGHT_SEED).toByteArray()));
    }
}
