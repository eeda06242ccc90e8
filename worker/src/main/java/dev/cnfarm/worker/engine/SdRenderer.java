package dev.cnfarm.worker.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.common.config.SessionSettings;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.interop.Contracts;
import dev.cnfarm.models.interop.TensorType;
import dev.cnfarm.worker.engine.sched.NoiseSchedule;
import dev.cnfarm.worker.engine.sched.Scheduler;
import dev.cnfarm.worker.engine.sched.SchedulerConfig;
import dev.cnfarm.worker.engine.sched.SchedulerKind;
import dev.cnfarm.worker.engine.text.ClipTokenizer;
import dev.cnfarm.worker.render.BadInputException;
import dev.cnfarm.worker.render.RenderOutput;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.Renderer;
import dev.cnfarm.worker.render.StepListener;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * ControlNet-guided Stable Diffusion on ONNX Runtime: encode the prompts (cached), sample with the
 * chosen scheduler and classifier-free guidance in one batch of two, run the controlled UNet graph
 * on steps inside some ControlNet's window and the plain UNet elsewhere (ControlNet is then not
 * computed at all), and decode with the VAE.
 *
 * <p>The noise-prediction output is written into one pre-allocated buffer for every step (ONNX
 * Runtime's pinned outputs), and the prompt context and control images are made into tensors once
 * per image, not once per step.
 */
public final class SdRenderer implements Renderer {
    private static final int LATENT_CHANNELS = 4;

    private final BundleSessions sessions;
    private final ClipTokenizer tokenizer;
    private final TextEncoder text;
    private final SchedulerConfig schedulerConfig;
    private final NoiseSchedule noiseSchedule;
    private final Contracts.UNet unetContract;
    private final Contracts.UNet controlledContract;
    /** The split ControlNet form's step, or null for models with a merged graph (or none). */
    private final SplitStep split;

    public SdRenderer(ModelBundle bundle, ExecutionProvider ep, SessionSettings settings, int promptCacheSize) {
        this(SdModel.of(bundle), ep, settings, promptCacheSize);
    }

    /** A model in either layout (the farm's bundle or a diffusers ONNX export), fed as its contract says. */
    public SdRenderer(SdModel model, ExecutionProvider ep, SessionSettings settings, int promptCacheSize) {
        this.sessions = new BundleSessions(model, ep, settings);
        this.unetContract = model.unetContract();
        this.controlledContract = model.controlledContract();
        this.split = model.splitControlnets().isEmpty() ? null : new SplitStep(sessions, model.unetContract());
        try {
            this.tokenizer = ClipTokenizer.open(model.tokenizerDir());
        } catch (RuntimeException e) {
            sessions.close();
            throw e;
        }
        this.text = new TextEncoder(tokenizer, sessions.textEncoder(), promptCacheSize, model.text());
        this.schedulerConfig = model.schedulerConfig();
        this.noiseSchedule = new NoiseSchedule(schedulerConfig);
    }

    @Override
    public String modelId() {
        return sessions.model().id();
    }

    @Override
    public String modelLayout() {
        return sessions.model().describe();
    }

    @Override
    public String executionProvider() {
        return sessions.provider();
    }

    @Override
    public int controlSlots() {
        return sessions.controlSlots();
    }

    public TextEncoder textEncoder() {
        return text;
    }

    @Override
    public RenderOutput render(RenderRequest req, StepListener listener) {
        return render(req, listener, req.guidanceScale() > 1f);
    }

    /** For tests: always the batch of two, even at guidance 1 (which otherwise runs the conditional half alone). */
    RenderOutput renderWithGuidanceBatch(RenderRequest req) {
        return render(req, StepListener.NONE, true);
    }

    private RenderOutput render(RenderRequest req, StepListener listener, boolean cfg) {
        validate(req);
        Map<String, Long> timings = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        int items = cfg ? 2 : 1;
        int h = req.height() / 8;
        int w = req.width() / 8;
        int latentSize = LATENT_CHANNELS * h * w;
        int d = sessions.contextDim();

        // text: [uncond; cond] under guidance, cond alone without
        float[] cond = text.encode(req.prompt());
        float[] context = cond;
        if (cfg) {
            float[] uncond = text.encode(req.negativePrompt());
            context = new float[2 * cond.length];
            System.arraycopy(uncond, 0, context, 0, uncond.length);
            System.arraycopy(cond, 0, context, uncond.length, cond.length);
        }
        long t1 = System.nanoTime();
        timings.put("text", (t1 - t0) / 1_000_000);

        Scheduler scheduler;
        try {
            scheduler = SchedulerKind.of(req.scheduler()).create(schedulerConfig, req.steps(), req.eta());
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
        GaussianNoise noise = new GaussianNoise(req.seed());
        float[] latent = noise.initial(latentSize, scheduler.initNoiseSigma());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int controlled = 0;
        long[] sampleShape = {items, LATENT_CHANNELS, h, w};
        FloatBuffer noisePred = ByteBuffer.allocateDirect(items * latentSize * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        // the plain and the controlled graph may declare their inputs differently (a merged graph from other tools' exports)
        Map<TensorType, OnnxTensor> contexts = new java.util.EnumMap<>(TensorType.class);
        try (OnnxTensor out = OnnxTensor.createTensor(env, noisePred, sampleShape);
             OnnxTensor images = split == null ? controlImages(env, req, items) : null) {
            float[] modelInput = new float[items * latentSize];
            for (int i = 0; i < scheduler.steps(); i++) {
                float[] x = scheduler.scaleModelInput(latent, i);
                for (int k = 0; k < items; k++) {
                    System.arraycopy(x, 0, modelInput, k * latentSize, latentSize);
                }
                float[] scales = scales(req, i, scheduler.steps(), items);
                boolean useControl = scales != null;
                if (split != null) {
                    List<float[]> imgs = req.controls().stream().map(ControlUnit::image).toList();
                    noisePred.rewind();
                    noisePred.put(split.run(env, modelInput, sampleShape, scheduler.timestep(i), items, context, d, imgs, req.height(),
                            req.width(), scales));
                    noisePred.rewind();
                    controlled += useControl ? 1 : 0;
                    float[] eps = guide(noisePred, items, latentSize, req.guidanceScale());
                    byte[] preview = listener.wantsPreview(i + 1, scheduler.steps())
                            ? LatentPreview.png(predictX0(x, eps, scheduler.timestep(i)), h, w) : null;
                    latent = scheduler.step(eps, i, latent, noise);
                    listener.onStep(i + 1, scheduler.steps(), preview);
                    continue;
                }
                Contracts.UNet uc = useControl ? controlledContract : unetContract;
                // a float32 output is written straight into one buffer for every step; a float16 one is read back and widened
                boolean pinned = uc.outputType() == TensorType.FLOAT32;
                OnnxTensor contextTensor = contexts.get(uc.contextType());
                if (contextTensor == null) {
                    contextTensor = Tensors.floats(env, context, new long[] {items, 77, d}, uc.contextType());
                    contexts.put(uc.contextType(), contextTensor);
                }
                try (OnnxTensor sample = Tensors.floats(env, modelInput, sampleShape, uc.sampleType());
                     OnnxTensor t = Tensors.timestep(env, scheduler.timestep(i), items, uc);
                     OnnxTensor scaleTensor = useControl ? OnnxTensor.createTensor(env, FloatBuffer.wrap(scales),
                             new long[] {sessions.controlSlots(), items, sessions.residualScales()}) : null) {
                    Map<String, OnnxTensor> in = new HashMap<>();
                    in.put(uc.sample(), sample);
                    in.put(uc.timestep(), t);
                    in.put(uc.context(), contextTensor);
                    OrtSession session = sessions.unet();
                    if (useControl) {
                        in.put(ModelGraphs.CONTROL_IMAGES, images);
                        in.put(ModelGraphs.CONTROL_SCALES, scaleTensor);
                        session = sessions.controlledUnet();
                        controlled++;
                    }
                    if (pinned) {
                        session.run(in, Set.of(), Map.<String, OnnxValue>of(uc.output(), out)).close();
                    } else {
                        try (OrtSession.Result r = session.run(in, Set.of(uc.output()))) {
                            noisePred.rewind();
                            noisePred.put(Tensors.read((OnnxTensor) r.get(uc.output()).orElseThrow()));
                            noisePred.rewind();
                        }
                    }
                }
                float[] eps = guide(noisePred, items, latentSize, req.guidanceScale());
                byte[] preview = null;
                if (listener.wantsPreview(i + 1, scheduler.steps())) {
                    preview = LatentPreview.png(predictX0(x, eps, scheduler.timestep(i)), h, w);
                }
                latent = scheduler.step(eps, i, latent, noise);
                listener.onStep(i + 1, scheduler.steps(), preview);
            }
            long t2 = System.nanoTime();
            timings.put("steps", (t2 - t1) / 1_000_000);
            float[] rgb = decode(env, latent, h, w);
            timings.put("vae", (System.nanoTime() - t2) / 1_000_000);
            return new RenderOutput(rgb, timings, controlled);
        } catch (OrtException e) {
            throw new BadInputException("model " + modelId() + " refused the input: " + e.getMessage(), e);
        } finally {
            contexts.values().forEach(OnnxTensor::close);
        }
    }

    private void validate(RenderRequest req) {
        if (req.width() % 8 != 0 || req.height() % 8 != 0) {
            throw new BadInputException("image size " + req.width() + "x" + req.height() + " must be a multiple of 8");
        }
        if (req.controls().size() > sessions.controlSlots()) {
            throw new BadInputException("model " + modelId() + " takes " + sessions.controlSlots() + " ControlNet(s), the task gives "
                    + req.controls().size());
        }
        int expected = 3 * req.width() * req.height();
        for (int i = 0; i < req.controls().size(); i++) {
            if (req.controls().get(i).image().length != expected) {
                throw new BadInputException("control image " + i + " is not " + req.width() + "x" + req.height());
            }
        }
    }

    /** [N, items, 3, H, W]: each ControlNet's image for every batch item; empty slots zero. Null without ControlNets. */
    private OnnxTensor controlImages(OrtEnvironment env, RenderRequest req, int items) throws OrtException {
        int n = sessions.controlSlots();
        if (n == 0) {
            return null;
        }
        int size = 3 * req.width() * req.height();
        float[] all = new float[n * items * size];
        for (int c = 0; c < req.controls().size(); c++) {
            for (int k = 0; k < items; k++) {
                System.arraycopy(req.controls().get(c).image(), 0, all, (c * items + k) * size, size);
            }
        }
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(all), new long[] {n, items, 3, req.height(), req.width()});
    }

    /**
     * [N, items, R+1] scales for step i, or null when no ControlNet is active (the plain UNet runs).
     * Under guidance the batch is [unconditional, conditional].
     */
    float[] scales(RenderRequest req, int i, int steps, int items) {
        int n = sessions.controlSlots();
        int r = sessions.residualScales();
        if (n == 0) {
            return null;
        }
        float[] s = new float[n * items * r];
        boolean any = false;
        for (int c = 0; c < req.controls().size(); c++) {
            ControlUnit u = req.controls().get(c);
            if (!u.activeAt(i, steps)) {
                continue;
            }
            any = true;
            for (int item = 0; item < items; item++) {
                boolean unconditional = items == 2 && item == 0;
                boolean condOnly = req.guessMode() || u.mode() == ControlMode.CONTROL;
                for (int k = 0; k < r; k++) {
                    double scale = u.scale();
                    if (req.guessMode()) {
                        scale *= Math.pow(10, -1 + (double) k / (r - 1)); // logspace(-1, 0, r)
                    } else if (u.mode() != ControlMode.BALANCED) {
                        scale *= Math.pow(0.825, r - 1 - k);
                    }
                    s[(c * items + item) * r + k] = unconditional && condOnly ? 0f : (float) scale;
                }
            }
        }
        return any ? s : null;
    }

    /** Classifier-free guidance: uncond + g (cond - uncond); without guidance, the prediction itself. */
    private static float[] guide(FloatBuffer pred, int items, int size, float g) {
        float[] eps = new float[size];
        if (items == 1) {
            pred.rewind();
            pred.get(eps);
            return eps;
        }
        for (int k = 0; k < size; k++) {
            float u = pred.get(k);
            float c = pred.get(size + k);
            eps[k] = u + g * (c - u);
        }
        return eps;
    }

    /** The clean latent the model predicts at this step: x0 = (x_in - sigma a eps) / a, x_in variance-preserving. */
    private float[] predictX0(float[] modelInput, float[] eps, double t) {
        double sigma = noiseSchedule.sigmaAt(t);
        double a = 1 / Math.sqrt(sigma * sigma + 1);
        float[] x0 = new float[eps.length];
        for (int k = 0; k < eps.length; k++) {
            x0[k] = (float) ((modelInput[k] - sigma * a * eps[k]) / a);
        }
        return x0;
    }

    /** VAE decode of latent / scaling factor, then [-1, 1] to [0, 1]. */
    private float[] decode(OrtEnvironment env, float[] latent, int h, int w) throws OrtException {
        float[] scaled = new float[latent.length];
        float f = sessions.vaeScalingFactor();
        for (int k = 0; k < latent.length; k++) {
            scaled[k] = latent[k] / f;
        }
        Contracts.Vae vc = sessions.model().vae();
        try (OnnxTensor in = Tensors.floats(env, scaled, new long[] {1, LATENT_CHANNELS, h, w}, vc.latentType());
             OrtSession.Result r = sessions.vaeDecoder().run(Map.of(vc.latent(), in), Set.of(vc.image()))) {
            float[] img = Tensors.read((OnnxTensor) r.get(vc.image()).orElseThrow());
            for (int k = 0; k < img.length; k++) {
                img[k] = Math.max(0f, Math.min(1f, img[k] / 2f + 0.5f));
            }
            return img;
        }
    }

    @Override
    public void close() {
        tokenizer.close();
        sessions.close();
    }

    /** For tests: ControlNet session runs of the split form so far (0 for other models). */
    int splitControlNetRuns() {
        return split == null ? 0 : split.controlNetRuns();
    }

    /** For tests: the schedulers' ids. */
    static List<String> schedulerIds() {
        return java.util.Arrays.stream(SchedulerKind.values()).map(SchedulerKind::id).toList();
    }
}
