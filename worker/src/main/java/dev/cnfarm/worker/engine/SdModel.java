package dev.cnfarm.worker.engine;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.BundleManifest;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.interop.Contracts;
import dev.cnfarm.models.interop.DiffusersOnnxModel;
import dev.cnfarm.models.interop.LayoutException;
import dev.cnfarm.worker.engine.sched.SchedulerConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The graphs of one Stable Diffusion model and how to call them, whatever folder layout they came
 * in: the farm's own bundle ({@code manifest.json}) or a diffusers ONNX export
 * ({@code model_index.json}). The engine works from this and nothing else.
 *
 * @param controlledUnet null when the model has no merged UNet+ControlNet graph
 * @param controlSlots   ControlNets in the controlled graph (0 without one)
 * @param residualScales scales per ControlNet and batch item in the controlled graph (13 for SD1.5)
 * @param layout         {@code cnfarm-bundle} or {@code diffusers-onnx}
 * @param splitControlnets the ControlNets of the split form (each its own graph), empty otherwise
 * @param controlNames   what each ControlNet slot is for ({@code canny}, ...), the names a job may choose them by
 * @param vaeEncoder     the VAE encoder (image to latent mean), for img2img and inpainting; null when the model has none
 * @param unetInChannels the UNet's input channels: 4, or 9 for an inpainting UNet (latent, mask, masked image's latent)
 */
public record SdModel(String id, String layout, Path textEncoder, Path unet, Path controlledUnet, Path vaeDecoder, Path tokenizerDir,
                      Contracts.Text text, Contracts.UNet unetContract, Contracts.UNet controlledContract, Contracts.Vae vae,
                      int controlSlots, int residualScales, int contextDim, float vaeScalingFactor, SchedulerConfig schedulerConfig,
                      List<DiffusersOnnxModel.ControlNetGraph> splitControlnets, List<String> controlNames, Path vaeEncoder, int unetInChannels) {
    public static final String NATIVE_LAYOUT = "cnfarm-bundle";

    /** The same model computed by other graph files of the same contracts (a LoRA merged into copies of them). */
    public SdModel withGraphs(Path textEncoder, Path unet, Path controlledUnet) {
        return new SdModel(id, layout, textEncoder, unet, controlledUnet, vaeDecoder, tokenizerDir, text, unetContract, controlledContract, vae,
                controlSlots, residualScales, contextDim, vaeScalingFactor, schedulerConfig, splitControlnets, controlNames, vaeEncoder, unetInChannels);
    }

    /** The UNet's input channels from the bundle's recorded configuration (4 when it records none). */
    private static int unetInChannels(BundleManifest m) {
        return m.configs().get("unet") instanceof Map<?, ?> u && u.get("in_channels") instanceof Number n ? n.intValue() : 4;
    }

    /** A bundle folder or a diffusers export folder, told apart by the file that describes it. */
    public static SdModel open(Path dir) {
        return DiffusersOnnxModel.looksLike(dir) ? of(DiffusersOnnxModel.open(dir)) : of(ModelBundle.open(dir));
    }

    public static SdModel of(ModelBundle bundle) {
        BundleManifest m = bundle.manifest();
        if (!BundleBuilder.ARCHITECTURE.equals(m.architecture())) {
            throw new IllegalArgumentException("bundle " + m.id() + " is a " + m.architecture() + " model, not " + BundleBuilder.ARCHITECTURE);
        }
        boolean controlled = m.graphs().containsKey(BundleBuilder.CONTROLLED_UNET);
        Object vaeConfig = m.configs().get("vae");
        float scaling = vaeConfig instanceof Map<?, ?> v && v.get("scaling_factor") instanceof Number n ? n.floatValue() : 0.18215f;
        return new SdModel(m.id(), NATIVE_LAYOUT, bundle.graph(BundleBuilder.TEXT_ENCODER), bundle.graph(BundleBuilder.UNET),
                controlled ? bundle.graph(BundleBuilder.CONTROLLED_UNET) : null, bundle.graph(BundleBuilder.VAE_DECODER),
                bundle.dir().resolve(BundleBuilder.TOKENIZER_DIR), Contracts.NATIVE_TEXT, Contracts.NATIVE_UNET, Contracts.NATIVE_UNET,
                Contracts.NATIVE_VAE,
                controlled ? m.controlnets() : 0, controlled ? scalesDim(m) : 0, contextDim(m), scaling, SchedulerConfig.sd15(), List.of(),
                controlled ? m.slotNames() : List.of(),
                m.graphs().containsKey(BundleBuilder.VAE_ENCODER) ? bundle.graph(BundleBuilder.VAE_ENCODER) : null, unetInChannels(m));
    }

    /**
     * A diffusers export: its own contracts and scheduler config, and the merged UNet+ControlNet
     * graph in {@code unet_controlnet/} when {@code farm models merge} has put one there.
     */
    public static SdModel of(DiffusersOnnxModel d) {
        if (!d.controlnets().isEmpty()) {
            // the split form: each ControlNet its own session, any subset per job; plain steps feed the UNet zero residuals
            return new SdModel(d.id(), DiffusersOnnxModel.LAYOUT, d.textEncoder(), d.unet(), null, d.vaeDecoder(), d.tokenizerDir(),
                    d.text(), d.unetContract(), d.unetContract(), d.vae(), d.controlnets().size(), d.unetContract().residualInputs().size(),
                    d.contextDim(), d.vaeScalingFactor(), scheduler(d), d.controlnets(),
                    d.controlnets().stream().map(DiffusersOnnxModel.ControlNetGraph::name).toList(), d.vaeEncoder(), 4);
        }
        DiffusersOnnxModel.Controlled c = d.controlled();
        return new SdModel(d.id(), DiffusersOnnxModel.LAYOUT, d.textEncoder(), d.unet(), c == null ? null : c.file(), d.vaeDecoder(),
                d.tokenizerDir(), d.text(), d.unetContract(), c == null ? d.unetContract() : c.contract(), d.vae(),
                c == null ? 0 : c.controlnets(), c == null ? 0 : c.residualScales(), d.contextDim(), d.vaeScalingFactor(), scheduler(d),
                List.of(), java.util.stream.IntStream.range(0, c == null ? 0 : c.controlnets()).mapToObj(i -> "controlnet" + i).toList(),
                d.vaeEncoder(), 4);
    }

    /** The folder's scheduler_config.json over SD1.5's defaults; models that predict anything but the noise are refused. */
    static SchedulerConfig scheduler(DiffusersOnnxModel d) {
        Map<String, Object> c = d.schedulerConfig();
        SchedulerConfig base = SchedulerConfig.sd15();
        Map<String, Object> merged = new java.util.LinkedHashMap<>(Json.mapper().convertValue(base, Map.class));
        c.forEach((k, v) -> {
            if (merged.containsKey(k) && v != null) {
                merged.put(k, v);
            }
        });
        SchedulerConfig s = Json.mapper().convertValue(merged, SchedulerConfig.class);
        if (!"epsilon".equals(s.predictionType())) {
            throw new LayoutException(d.dir().resolve("scheduler/scheduler_config.json") + ": prediction_type is '" + s.predictionType()
                    + "'; the engine runs models that predict the noise (epsilon), as SD1.5 does");
        }
        if (!"scaled_linear".equals(s.betaSchedule()) && !"linear".equals(s.betaSchedule())) {
            throw new LayoutException(d.dir().resolve("scheduler/scheduler_config.json") + ": beta_schedule '" + s.betaSchedule()
                    + "' is not supported; use scaled_linear or linear");
        }
        return s;
    }

    private static int scalesDim(BundleManifest m) {
        for (BundleManifest.TensorSpec t : m.graphs().get(BundleBuilder.CONTROLLED_UNET).inputs()) {
            if (t.name().equals(ModelGraphs.CONTROL_SCALES)) {
                return Integer.parseInt(t.dims().get(2));
            }
        }
        throw new IllegalArgumentException("controlled UNet of " + m.id() + " has no " + ModelGraphs.CONTROL_SCALES + " input");
    }

    private static int contextDim(BundleManifest m) {
        for (BundleManifest.TensorSpec t : m.graphs().get(BundleBuilder.UNET).inputs()) {
            if (t.name().equals(ModelGraphs.CONTEXT)) {
                return Integer.parseInt(t.dims().get(2));
            }
        }
        throw new IllegalArgumentException("UNet of " + m.id() + " has no " + ModelGraphs.CONTEXT + " input");
    }

    /** Layout and contract in one line, for logs, heartbeats and {@code farm models describe}. */
    public String describe() {
        return layout + ": unet " + unetContract.describe() + "; text encoder " + text.describe() + "; vae decoder " + vae.describe()
                + (!splitControlnets.isEmpty() ? "; split ControlNets " + splitControlnets.stream()
                .map(DiffusersOnnxModel.ControlNetGraph::name).toList() : controlSlots > 0 ? "; merged UNet with " + controlSlots + " ControlNet(s)"
                + (controlledContract.equals(unetContract) ? "" : ": " + controlledContract.describe()) : "");
    }
}
