package dev.cnfarm.models.bundle;

import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json} of a model bundle.
 *
 * @param formatVersion layout version of the manifest itself
 * @param id            bundle id, the {@code model} a job names
 * @param architecture  what the graphs compute (for example {@code skeleton-conv})
 * @param dtype         {@code fp32} or {@code fp16}
 * @param graphs        role (for example {@code denoiser}) to file path inside the bundle
 * @param files         every file of the bundle with its sha256
 */
public record BundleManifest(int formatVersion, String id, String architecture, String dtype, String description,
                             Map<String, String> graphs, List<BundleFile> files) {
    public static final int FORMAT_VERSION = 1;
    public static final String FILE_NAME = "manifest.json";
}
