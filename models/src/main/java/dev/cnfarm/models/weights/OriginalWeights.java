package dev.cnfarm.models.weights;

import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.onnx.ParamSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Weights from files in the original (LDM, A1111) layout: a single-file SD1.5 checkpoint (UNet, VAE
 * and text encoder under their prefixes) and original ControlNet files ({@code control_model.*}, or
 * the same keys without the prefix), bound to a model's parameters through {@link OriginalLayout}.
 * {@link #bind} checks every tensor before anything is built and names each missing, unknown or
 * mis-shaped one; only the noise schedule's buffers that such files carry, the text encoder's
 * position ids and (unless asked for) the EMA copies are passed over, and counted.
 */
public final class OriginalWeights implements WeightSource, AutoCloseable {
    /** Buffers of LDM's noise schedule and EMA bookkeeping: not weights. */
    private static final Set<String> SCHEDULE_BUFFERS = Set.of("betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
            "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
            "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "logvar",
            "model_ema.decay", "model_ema.num_updates");
    private static final String POSITION_IDS = OriginalLayout.TEXT_ENCODER_PREFIX + "text_model.embeddings.position_ids";

    /** One original file and which of the model's components it carries. */
    private record Source(SafetensorsFile file, Set<String> components, String controlnetPrefix) {}

    private final List<Source> sources = new ArrayList<>();
    private final Map<String, Source> byComponent = new LinkedHashMap<>();
    private final boolean ema;
    /** Each file's table, made by {@link #bind}. */
    private final Map<Source, OriginalLayout> layouts = new java.util.HashMap<>();
    private final List<String> notes = new ArrayList<>();

    /** @param ema read the UNet from the file's EMA copy ({@code model_ema.*}) */
    public OriginalWeights(boolean ema) {
        this.ema = ema;
    }

    /** Whether a file's keys are in the original layout (rather than diffusers'). */
    public static boolean isOriginal(SafetensorsFile f) {
        return f.tensors().keySet().stream().anyMatch(k -> k.startsWith(OriginalLayout.UNET_PREFIX) || k.startsWith(OriginalLayout.VAE_PREFIX)
                || k.startsWith(OriginalLayout.CONTROLNET_PREFIX) || k.startsWith("input_hint_block.") || k.startsWith("zero_convs."));
    }

    /** A single-file checkpoint: whichever of UNet, VAE and text encoder it holds. */
    public OriginalWeights addCheckpoint(SafetensorsFile f) {
        Set<String> c = new LinkedHashSet<>();
        Set<String> keys = f.tensors().keySet();
        if (keys.stream().anyMatch(k -> k.startsWith(OriginalLayout.UNET_PREFIX))) {
            c.add(ModelGraphs.UNET);
        }
        if (keys.stream().anyMatch(k -> k.startsWith(OriginalLayout.VAE_PREFIX))) {
            c.add(ModelGraphs.VAE);
        }
        if (keys.stream().anyMatch(k -> k.startsWith(OriginalLayout.TEXT_ENCODER_PREFIX))) {
            c.add(ModelGraphs.TEXT_ENCODER);
        }
        if (c.isEmpty()) {
            throw new SafetensorsException(f.path() + " holds none of model.diffusion_model.*, first_stage_model.* or "
                    + "cond_stage_model.transformer.*: it is not a single-file SD1.x checkpoint in the original layout");
        }
        return add(new Source(f, c, OriginalLayout.CONTROLNET_PREFIX));
    }

    /** An original ControlNet file, as the model's ControlNet {@code component} ({@code controlnet0}, ...). */
    public OriginalWeights addControlNet(SafetensorsFile f, String component) {
        boolean prefixed = f.tensors().keySet().stream().anyMatch(k -> k.startsWith(OriginalLayout.CONTROLNET_PREFIX));
        return add(new Source(f, Set.of(component), prefixed ? OriginalLayout.CONTROLNET_PREFIX : ""));
    }

    private OriginalWeights add(Source s) {
        for (String c : s.components()) {
            if (byComponent.put(c, s) != null) {
                throw new IllegalArgumentException("two files give weights for " + c);
            }
        }
        sources.add(s);
        return this;
    }

    /** The components some file covers. */
    public Set<String> components() {
        return byComponent.keySet();
    }

    /** What was passed over (schedule buffers, EMA copies, position ids), for the importer to print. */
    public List<String> notes() {
        return List.copyOf(notes);
    }

    /**
     * Checks every parameter of the covered components against the files, and every key of the
     * files against the parameters; throws naming each problem.
     */
    public void bind(List<ParamSpec> params) {
        List<String> missing = new ArrayList<>();
        List<String> misShaped = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        for (Source s : sources) {
            OriginalLayout l = OriginalLayout.of(params, s.controlnetPrefix());
            Set<String> used = new LinkedHashSet<>();
            for (OriginalLayout.Entry e : l.entries().values()) {
                ParamSpec p = e.param();
                if (!s.components().contains(p.component())) {
                    continue;
                }
                String key = keyOf(e);
                SafetensorsFile.TensorInfo t = s.file().tensors().get(key);
                used.add(key);
                if (t == null) {
                    missing.add("'" + key + "' " + Arrays.toString(e.originalShape()) + " (" + p.component() + " " + p.key() + ")");
                } else if (!Arrays.equals(t.shape(), e.originalShape())) {
                    misShaped.add("'" + key + "' has shape " + Arrays.toString(t.shape()) + ", the model needs " + Arrays.toString(e.originalShape()));
                }
            }
            int buffers = 0;
            int emaCopies = 0;
            int ownUnet = 0;
            for (String k : s.file().tensors().keySet()) {
                if (used.contains(k)) {
                    continue;
                }
                if (SCHEDULE_BUFFERS.contains(k) || k.equals(POSITION_IDS)) {
                    buffers++;
                } else if (k.startsWith(OriginalLayout.EMA_PREFIX) && s.components().contains(ModelGraphs.UNET)) {
                    emaCopies++;
                } else if (ema && k.startsWith(OriginalLayout.UNET_PREFIX) && l.byOriginal(k) != null) {
                    ownUnet++; // the EMA copy was read in its place
                } else if (l.byOriginal(k) != null && !s.components().contains(l.byOriginal(k).param().component())) {
                    unknown.add("'" + k + "' belongs to " + l.byOriginal(k).param().component() + ", which this file was not given for");
                } else {
                    unknown.add("'" + k + "'");
                }
            }
            String name = String.valueOf(s.file().path().getFileName());
            if (buffers > 0) {
                notes.add(name + ": " + buffers + " noise-schedule buffers and position ids passed over (not weights)");
            }
            if (emaCopies > 0 && !ema) {
                notes.add(name + ": " + emaCopies + " EMA tensors passed over (--ema reads them)");
            }
            if (ownUnet > 0) {
                notes.add(name + ": the UNet read from its EMA copy; its own " + ownUnet + " tensors passed over");
            }
            layouts.put(s, l);
        }
        int problems = missing.size() + misShaped.size() + unknown.size();
        if (problems > 0) {
            StringBuilder msg = new StringBuilder("the original-layout weights do not fit the model (" + problems + " problem"
                    + (problems == 1 ? "" : "s") + ")");
            SafetensorsWeights.section(msg, "missing tensors", missing);
            SafetensorsWeights.section(msg, "tensors of another shape", misShaped);
            SafetensorsWeights.section(msg, "keys the model has no parameter for (another architecture, or a layout this reader does not know)", unknown);
            throw new SafetensorsException(msg.toString());
        }
    }

    private String keyOf(OriginalLayout.Entry e) {
        boolean fromEma = ema && e.param().component().equals(ModelGraphs.UNET);
        return fromEma ? OriginalLayout.emaKey(e.originalKey()) : e.originalKey();
    }

    @Override
    public float[] values(ParamSpec spec) {
        Source s = byComponent.get(spec.component());
        OriginalLayout l = s == null ? null : layouts.get(s);
        if (l == null) {
            throw new SafetensorsException("no original-layout file was bound for component " + spec.component());
        }
        // [C, C, 1, 1] and [C, C] hold the same values in the same order: no reshaping of the data
        return s.file().readFloats(keyOf(l.byParam(spec)));
    }

    @Override
    public void close() {
        sources.forEach(s -> s.file().close());
    }
}
