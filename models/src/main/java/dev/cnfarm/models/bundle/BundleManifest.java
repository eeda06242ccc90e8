package dev.cnfarm.models.bundle;

import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json} of a model bundle.
 *
 * @param formatVersion layout version of the manifest itself
 * @param id            bundle id, the {@code model} a job names
 * @param architecture  what the graphs compute ({@code sd15-controlnet}, or {@code skeleton-conv} for the placeholder)
 * @param preset        the settings the graphs were built from ({@code sd15}, {@code tiny}), empty for the placeholder
 * @param dtype         how weights are stored: {@code fp32} or {@code fp16} (computation is float32 either way)
 * @param controlnets   ControlNets in the controlled UNet graph (0 when there is none)
 * @param graphs        role ({@code unet}, {@code controlled_unet}, {@code text_encoder}, ...) to file and I/O
 * @param files         every file of the bundle with its sha256
 * @param weights       where the weights came from, in words
 * @param configs       the components' settings under diffusers' config keys
 * @param controlnetNames what each ControlNet slot of the controlled graph was trained for ({@code canny},
 *                      {@code scribble}): the names jobs choose them by; absent in older bundles
 */
public record BundleManifest(int formatVersion, String id, String architecture, String preset, String dtype, int controlnets,
                             String description, Map<String, GraphInfo> graphs, List<BundleFile> files, String weights,
                             Map<String, Object> configs, List<String> controlnetNames) {
    public static final int FORMAT_VERSION = 2;
    public static final String FILE_NAME = "manifest.json";

    /** The name of each ControlNet slot: the recorded ones, or {@code controlnet0}, {@code controlnet1}, ... */
    public List<String> slotNames() {
        if (controlnetNames != null && controlnetNames.size() == controlnets) {
            return controlnetNames;
        }
        return java.util.stream.IntStream.range(0, controlnets).mapToObj(i -> "controlnet" + i).toList();
    }

    /** A graph of the bundle: its file and the names, types and dimensions of its inputs and outputs. */
    public record GraphInfo(String file, List<TensorSpec> inputs, List<TensorSpec> outputs) {}

    /** @param dims fixed sizes as numbers, dynamic ones by name ({@code batch}, {@code height}, ...) */
    public record TensorSpec(String name, String dtype, List<String> dims) {}
}
