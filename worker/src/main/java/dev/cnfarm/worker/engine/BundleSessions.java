package dev.cnfarm.worker.engine;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.common.config.SessionSettings;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.BundleManifest;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.arch.ModelGraphs;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The ONNX Runtime sessions of one SD-architecture bundle, kept warm between tasks: text encoder,
 * plain UNet, controlled UNet (when the bundle has ControlNets) and VAE decoder. The two UNet
 * graphs are loaded on first use: a worker whose jobs never leave the ControlNet window never
 * holds the plain UNet's weights, and one whose jobs use no ControlNet never holds the
 * controlled graph's (several GB each at SD1.5 size). Closing releases their native memory.
 */
public final class BundleSessions implements AutoCloseable {
    private final ModelBundle bundle;
    private final OrtSession textEncoder;
    private final ExecutionProvider ep;
    private final SessionSettings settings;
    private final boolean hasControlled;
    private OrtSession unet;
    private OrtSession controlledUnet;
    private final OrtSession vaeDecoder;
    private final int controlSlots;
    private final int residualScales;
    private final int contextDim;
    private final float vaeScalingFactor;
    private final String provider;

    public BundleSessions(ModelBundle bundle, ExecutionProvider ep, SessionSettings settings) {
        this.bundle = bundle;
        this.provider = ep.name();
        BundleManifest m = bundle.manifest();
        if (!BundleBuilder.ARCHITECTURE.equals(m.architecture())) {
            throw new IllegalArgumentException("bundle " + m.id() + " is a " + m.architecture() + " model, not " + BundleBuilder.ARCHITECTURE);
        }
        this.ep = ep;
        this.settings = settings;
        this.hasControlled = m.graphs().containsKey(BundleBuilder.CONTROLLED_UNET);
        List<OrtSession> opened = new ArrayList<>();
        try {
            textEncoder = open(BundleBuilder.TEXT_ENCODER, ep, settings, opened);
            vaeDecoder = open(BundleBuilder.VAE_DECODER, ep, settings, opened);
        } catch (OrtException | RuntimeException e) {
            opened.forEach(BundleSessions::closeQuietly);
            throw new IllegalStateException("cannot load model " + m.id() + " from " + bundle.dir() + ": " + e.getMessage(), e);
        }
        this.controlSlots = hasControlled ? m.controlnets() : 0;
        this.residualScales = hasControlled ? scalesDim(m) : 0;
        this.contextDim = contextDim(m);
        Object vae = m.configs().get("vae");
        this.vaeScalingFactor = vae instanceof Map<?, ?> v && v.get("scaling_factor") instanceof Number n ? n.floatValue() : 0.18215f;
    }

    private OrtSession open(String role, ExecutionProvider ep, SessionSettings so, List<OrtSession> opened) throws OrtException {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(switch (so.graphOptimization()) {
                case "none" -> OrtSession.SessionOptions.OptLevel.NO_OPT;
                case "basic" -> OrtSession.SessionOptions.OptLevel.BASIC_OPT;
                case "extended" -> OrtSession.SessionOptions.OptLevel.EXTENDED_OPT;
                default -> OrtSession.SessionOptions.OptLevel.ALL_OPT;
            });
            if (so.intraOpThreads() > 0) {
                o.setIntraOpNumThreads(so.intraOpThreads());
            }
            o.setCPUArenaAllocator(so.cpuMemoryArena());
            ep.configure(o);
            OrtSession s = OrtEnvironment.getEnvironment().createSession(bundle.graph(role).toString(), o);
            opened.add(s);
            return s;
        }
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

    public ModelBundle bundle() {
        return bundle;
    }

    public OrtSession textEncoder() {
        return textEncoder;
    }

    public synchronized OrtSession unet() {
        if (unet == null) {
            unet = load(BundleBuilder.UNET);
        }
        return unet;
    }

    /** Null when the bundle has no ControlNet. */
    public synchronized OrtSession controlledUnet() {
        if (controlledUnet == null && hasControlled) {
            controlledUnet = load(BundleBuilder.CONTROLLED_UNET);
        }
        return controlledUnet;
    }

    private OrtSession load(String role) {
        try {
            return open(role, ep, settings, new ArrayList<>());
        } catch (OrtException e) {
            throw new IllegalStateException("cannot load the " + role + " graph of " + bundle.manifest().id() + ": " + e.getMessage(), e);
        }
    }

    public OrtSession vaeDecoder() {
        return vaeDecoder;
    }

    public int controlSlots() {
        return controlSlots;
    }

    /** Scales per ControlNet and batch item: one per residual (12 for SD1.5) plus the middle block's. */
    public int residualScales() {
        return residualScales;
    }

    public int contextDim() {
        return contextDim;
    }

    public float vaeScalingFactor() {
        return vaeScalingFactor;
    }

    public String provider() {
        return provider;
    }

    @Override
    public synchronized void close() {
        closeQuietly(textEncoder);
        closeQuietly(unet);
        closeQuietly(controlledUnet);
        closeQuietly(vaeDecoder);
    }

    private static void closeQuietly(OrtSession s) {
        if (s != null) {
            try {
                s.close();
            } catch (OrtException e) {
                // the native memory is released either way
            }
        }
    }
}
