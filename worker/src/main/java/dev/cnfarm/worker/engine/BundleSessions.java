package dev.cnfarm.worker.engine;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.common.config.SessionSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The ONNX Runtime sessions of one SD-architecture model, kept warm between tasks: text encoder,
 * plain UNet, controlled UNet (when the model has one) and VAE decoder. The two UNet graphs are
 * loaded on first use: a worker whose jobs never leave the ControlNet window never holds the plain
 * UNet's weights, and one whose jobs use no ControlNet never holds the controlled graph's (several
 * GB each at SD1.5 size). Closing releases their native memory.
 */
public final class BundleSessions implements AutoCloseable {
    private final SdModel model;
    private final OrtSession textEncoder;
    private final ExecutionProvider ep;
    private final SessionSettings settings;
    private OrtSession unet;
    private OrtSession controlledUnet;
    private final OrtSession[] splitControlnets;
    private final OrtSession vaeDecoder;
    private OrtSession vaeEncoder;
    private final String provider;

    public BundleSessions(SdModel model, ExecutionProvider ep, SessionSettings settings) {
        this.model = model;
        this.provider = ep.name();
        this.ep = ep;
        this.settings = settings;
        this.splitControlnets = new OrtSession[model.splitControlnets().size()];
        List<OrtSession> opened = new ArrayList<>();
        try {
            textEncoder = open(model.textEncoder(), ep, settings, opened);
            vaeDecoder = open(model.vaeDecoder(), ep, settings, opened);
        } catch (OrtException | RuntimeException e) {
            opened.forEach(BundleSessions::closeQuietly);
            throw new IllegalStateException("cannot load model " + model.id() + " (" + model.layout() + "): " + e.getMessage(), e);
        }
    }

    private static OrtSession open(Path graph, ExecutionProvider ep, SessionSettings so, List<OrtSession> opened) throws OrtException {
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
            OrtSession s = OrtEnvironment.getEnvironment().createSession(graph.toString(), o);
            opened.add(s);
            return s;
        }
    }

    public SdModel model() {
        return model;
    }

    public OrtSession textEncoder() {
        return textEncoder;
    }

    public synchronized OrtSession unet() {
        if (unet == null) {
            unet = load(model.unet(), "UNet");
        }
        return unet;
    }

    /** Null when the model has no merged ControlNet graph. */
    public synchronized OrtSession controlledUnet() {
        if (controlledUnet == null && model.controlledUnet() != null) {
            controlledUnet = load(model.controlledUnet(), "controlled UNet");
        }
        return controlledUnet;
    }

    private OrtSession load(Path graph, String what) {
        try {
            return open(graph, ep, settings, new ArrayList<>());
        } catch (OrtException e) {
            throw new IllegalStateException("cannot load the " + what + " graph of " + model.id() + " (" + graph + "): " + e.getMessage(), e);
        }
    }

    /** The session of ControlNet {@code slot} of the split form, loaded on first use (a job that never names it never loads it). */
    public synchronized OrtSession splitControlnet(int slot) {
        if (splitControlnets[slot] == null) {
            splitControlnets[slot] = load(model.splitControlnets().get(slot).file(), "ControlNet " + model.splitControlnets().get(slot).name());
        }
        return splitControlnets[slot];
    }

    public OrtSession vaeDecoder() {
        return vaeDecoder;
    }

    /** The VAE encoder, loaded on the first img2img or inpainting task; null when the model has none. */
    public synchronized OrtSession vaeEncoder() {
        if (vaeEncoder == null && model.vaeEncoder() != null) {
            vaeEncoder = load(model.vaeEncoder(), "VAE encoder");
        }
        return vaeEncoder;
    }

    public int controlSlots() {
        return model.controlSlots();
    }

    /** Scales per ControlNet and batch item: one per residual (12 for SD1.5) plus the middle block's. */
    public int residualScales() {
        return model.residualScales();
    }

    public int contextDim() {
        return model.contextDim();
    }

    public float vaeScalingFactor() {
        return model.vaeScalingFactor();
    }

    public String provider() {
        return provider;
    }

    @Override
    public synchronized void close() {
        closeQuietly(textEncoder);
        closeQuietly(unet);
        closeQuietly(controlledUnet);
        for (OrtSession s : splitControlnets) {
            closeQuietly(s);
        }
        closeQuietly(vaeDecoder);
        closeQuietly(vaeEncoder);
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
