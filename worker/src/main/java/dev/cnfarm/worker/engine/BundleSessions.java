package dev.cnfarm.worker.engine;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.BundleManifest;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.arch.ModelGraphs;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The ONNX Runtime sessions of one SD-architecture bundle, created once and kept warm between
 * tasks: text encoder, plain UNet, controlled UNet (when the bundle has ControlNets) and VAE
 * decoder. Closing releases their native memory.
 */
public final class BundleSessions implements AutoCloseable {
    private final ModelBundle bundle;
    private final OrtSession textEncoder;
    private final OrtSession unet;
    private final OrtSession controlledUnet;
    private final OrtSession vaeDecoder;
    private final int controlSlots;
    private final int residualScales;
    private final int contextDim;
    private final float vaeScalingFactor;
    private final String provider;

    public BundleSessions(ModelBundle bundle, ExecutionProvider ep, int intraOpThreads) {
        this.bundle = bundle;
        this.provider = ep.name();
        BundleManifest m = bundle.manifest();
        if (!BundleBuilder.ARCHITECTURE.equals(m.architecture())) {
            throw new IllegalArgumentException("bundle " + m.id() + " is a " + m.architecture() + " model, not " + BundleBuilder.ARCHITECTURE);
        }
        List<OrtSession> opened = new ArrayList<>();
        try {
            textEncoder = open(BundleBuilder.TEXT_ENCODER, ep, intraOpThreads, opened);
            unet = open(BundleBuilder.UNET, ep, intraOpThreads, opened);
            controlledUnet = m.graphs().containsKey(BundleBuilder.CONTROLLED_UNET)
                    ? open(BundleBuilder.CONTROLLED_UNET, ep, intraOpThreads, opened) : null;
            vaeDecoder = open(BundleBuilder.VAE_DECODER, ep, intraOpThreads, opened);
        } catch (OrtException | RuntimeException e) {
            opened.forEach(BundleSessions::closeQuietly);
            throw new IllegalStateException("cannot load model " + m.id() + " from " + bundle.dir() + ": " + e.getMessage(), e);
        }
        this.controlSlots = controlledUnet == null ? 0 : m.controlnets();
        this.residualScales = controlledUnet == null ? 0 : scalesDim(m);
        this.contextDim = contextDim(m);
        Object vae = m.configs().get("vae");
        this.vaeScalingFactor = vae instanceof Map<?, ?> v && v.get("scaling_factor") instanceof Number n ? n.floatValue() : 0.18215f;
    }

    private OrtSession open(String role, ExecutionProvider ep, int threads, List<OrtSession> opened) throws OrtException {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (threads > 0) {
                o.setIntraOpNumThreads(threads);
            }
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

    public OrtSession unet() {
        return unet;
    }

    /** Null when the bundle has no ControlNet. */
    public OrtSession controlledUnet() {
        return controlledUnet;
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
    public void close() {
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
