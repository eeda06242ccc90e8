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
import dev.cnfarm.worker.render.InitImage;
import dev.cnfarm.worker.render.RenderOutOfMemoryException;
import dev.cnfarm.worker.render.ItemResult;
import dev.cnfarm.worker.render.RenderOutput;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.Renderer;
import dev.cnfarm.worker.render.StepListener;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
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
    /** UNet steps run so far (one per step of a batch, whatever its size); read by tests. */
    private final java.util.concurrent.atomic.AtomicLong modelRuns = new java.util.concurrent.atomic.AtomicLong();

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

    /** The model's graphs and how to call them. */
    public SdModel model() {
        return sessions.model();
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

    @Override
    public List<String> controlNames() {
        return sessions.model().controlNames();
    }

    public TextEncoder textEncoder() {
        return text;
    }

    @Override
    public RenderOutput render(RenderRequest req, StepListener listener) {
        return renderItems(List.of(req), List.of(listener), false).get(0).orThrow();
    }

    /**
     * Renders the requests through the model together: one UNet run per step for all of them
     * (a batch of 2n under guidance: n unconditional, then n conditional), each with its own
     * prompt, seed, scheduler state, guidance and control images and scales. Requests that
     * cannot share a run (another size, step count, scheduler, or guidance on or off) form
     * batches of their own, run one after another.
     *
     * <p>Every operation of the graphs works on each batch item alone, so an image comes out
     * the same whether it was computed alone or in a batch (a test holds this to the byte on
     * the CPU provider).
     */
    @Override
    public List<ItemResult> renderBatch(List<RenderRequest> requests, List<StepListener> listeners) {
        return renderItems(requests, listeners, false);
    }

    /** For tests: always the batch of two, even at guidance 1 (which otherwise runs the conditional half alone). */
    RenderOutput renderWithGuidanceBatch(RenderRequest req) {
        return renderItems(List.of(req), List.of(StepListener.NONE), true).get(0).orThrow();
    }

    /** What requests must share to go through the model in one run. */
    private record RunShape(int width, int height, int steps, String scheduler, boolean cfg, int startStep) {}

    private List<ItemResult> renderItems(List<RenderRequest> requests, List<StepListener> listeners, boolean alwaysGuidanceBatch) {
        if (requests.size() != listeners.size()) {
            throw new IllegalArgumentException(requests.size() + " requests but " + listeners.size() + " listeners");
        }
        ItemResult[] results = new ItemResult[requests.size()];
        Map<RunShape, List<Integer>> runs = new LinkedHashMap<>();
        for (int i = 0; i < requests.size(); i++) {
            RenderRequest r = requests.get(i);
            try {
                validate(r);
                runs.computeIfAbsent(new RunShape(r.width(), r.height(), r.steps(), r.scheduler(),
                        alwaysGuidanceBatch || r.guidanceScale() > 1f, r.startStep()), k -> new ArrayList<>()).add(i);
            } catch (BadInputException e) {
                results[i] = new ItemResult.Failed(e);
            }
        }
        for (Map.Entry<RunShape, List<Integer>> run : runs.entrySet()) {
            List<Integer> members = run.getValue();
            List<ItemResult> out = renderTogether(members.stream().map(requests::get).toList(),
                    members.stream().map(listeners::get).toList(), run.getKey().cfg());
            for (int k = 0; k < members.size(); k++) {
                results[members.get(k)] = out.get(k);
            }
        }
        return List.of(results);
    }

    private List<ItemResult> renderTogether(List<RenderRequest> reqs, List<StepListener> listeners, boolean cfg) {
        Map<String, Long> shared = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        int n = reqs.size();
        int items = cfg ? 2 * n : n;
        RenderRequest first = reqs.get(0);
        int h = first.height() / 8;
        int w = first.width() / 8;
        int latentSize = LATENT_CHANNELS * h * w;
        int d = sessions.contextDim();

        // text: [uncond 0..n-1; cond 0..n-1] under guidance, the conditional ones alone without
        int ctx = 77 * d;
        float[] context = new float[items * ctx];
        for (int b = 0; b < n; b++) {
            System.arraycopy(text.encode(reqs.get(b).prompt()), 0, context, (cfg ? n + b : b) * ctx, ctx);
            if (cfg) {
                System.arraycopy(text.encode(reqs.get(b).negativePrompt()), 0, context, b * ctx, ctx);
            }
        }
        long t1 = System.nanoTime();
        shared.put("text", (t1 - t0) / 1_000_000);

        Scheduler[] schedulers = new Scheduler[n];
        dev.cnfarm.worker.engine.noise.NoiseKind.ImageNoise[] noises = new dev.cnfarm.worker.engine.noise.NoiseKind.ImageNoise[n];
        float[][] latents = new float[n][];
        InitLatents[] inits = new InitLatents[n];
        int start = first.startStep(); // one for the run: requests with other starts run apart
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        for (int b = 0; b < n; b++) {
            RenderRequest r = reqs.get(b);
            schedulers[b] = SchedulerKind.of(r.scheduler()).create(schedulerConfig, r.steps(), r.eta());
            noises[b] = r.noise().forSeed(r.seed());
            if (r.init() == null || r.init().fromNoiseOnly()) {
                latents[b] = noises[b].initial(latentSize, schedulers[b].initNoiseSigma());
            } else {
                try {
                    inits[b] = initLatents(env, r.init(), noises[b].initial(latentSize, 1), h, w);
                } catch (OrtException e) {
                    throw new BadInputException("model " + modelId() + "'s VAE encoder refused the init image: " + e.getMessage(), e);
                }
                // strength 1 with a mask: from noise, the known region put back step by step
                latents[b] = start == 0 ? schedulers[b].addNoise(new float[latentSize], inits[b].noise(), 0)
                        : schedulers[b].addNoise(inits[b].latent(), inits[b].noise(), start);
            }
        }
        if (java.util.Arrays.stream(inits).anyMatch(java.util.Objects::nonNull)) {
            shared.put("vae_encode", (System.nanoTime() - t1) / 1_000_000);
        }
        int steps = schedulers[0].steps();
        int run = steps - start; // the steps this run takes, as listeners and ControlNet windows count them
        ItemResult[] ended = new ItemResult[n];
        int[] controlled = new int[n];
        long[] sampleShape = {items, LATENT_CHANNELS, h, w};
        // an inpainting UNet takes 9 channels: the (scaled) latent, then each item's mask and masked image's latent
        int inChannels = sessions.model().unetInChannels();
        int inputSize = inChannels * h * w;
        long[] inputShape = {items, inChannels, h, w};
        float[][] extra = new float[n][];
        if (inChannels != LATENT_CHANNELS) {
            if (split != null || inChannels != LATENT_CHANNELS + 1 + LATENT_CHANNELS) {
                throw BadInputException.permanent("model " + modelId() + " has a UNet of " + inChannels + " input channels in the split "
                        + "ControlNet form or another layout; only the farm's own inpainting bundles (9 channels) are rendered");
            }
            for (int b = 0; b < n; b++) {
                extra[b] = inpaintingInputs(env, reqs.get(b).init(), inits[b], h, w);
            }
        }
        FloatBuffer noisePred = ByteBuffer.allocateDirect(items * latentSize * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        // the plain and the controlled graph may declare their inputs differently (a merged graph from other tools' exports)
        Map<TensorType, OnnxTensor> contexts = new java.util.EnumMap<>(TensorType.class);
        try (OnnxTensor out = OnnxTensor.createTensor(env, noisePred, sampleShape);
             OnnxTensor images = split == null ? controlImages(env, reqs, items) : null) {
            List<float[]> splitImages = split == null ? null : slotImages(reqs, items);
            float[] modelInput = new float[items * inputSize];
            float[][] xs = new float[n][];
            for (int i = start; i < steps && java.util.Arrays.stream(ended).anyMatch(java.util.Objects::isNull); i++) {
                double t = schedulers[0].timestep(i);
                modelRuns.incrementAndGet();
                for (int b = 0; b < n; b++) {
                    xs[b] = schedulers[b].scaleModelInput(latents[b], i);
                    System.arraycopy(xs[b], 0, modelInput, b * inputSize, latentSize);
                    if (extra[b] != null) {
                        System.arraycopy(extra[b], 0, modelInput, b * inputSize + latentSize, extra[b].length);
                    }
                    if (cfg) {
                        System.arraycopy(modelInput, b * inputSize, modelInput, (n + b) * inputSize, inputSize);
                    }
                }
                float[] scales = scales(reqs, i - start, run, cfg);
                boolean useControl = scales != null;
                if (split != null) {
                    noisePred.rewind();
                    noisePred.put(split.run(env, modelInput, sampleShape, t, items, context, d, splitImages, first.height(),
                            first.width(), scales));
                    noisePred.rewind();
                } else {
                    runUnet(env, useControl, modelInput, inputShape, t, items, context, d, images, scales, out, noisePred, contexts);
                }
                for (int b = 0; b < n; b++) {
                    if (ended[b] != null) {
                        continue; // stopped earlier: still computed with the others, no longer stepped
                    }
                    RenderRequest r = reqs.get(b);
                    if (useControl && anyActive(r, i - start, run)) {
                        controlled[b]++;
                    }
                    float[] eps = guide(noisePred, b, n, cfg, latentSize, r.guidanceScale());
                    byte[] preview = listeners.get(b).wantsPreview(i + 1 - start, run)
                            ? LatentPreview.png(predictX0(xs[b], eps, t), h, w) : null;
                    latents[b] = schedulers[b].step(eps, i, latents[b], noises[b]);
                    if (inits[b] != null && inits[b].mask() != null && extra[b] == null) {
                        // inpainting with a plain UNet: the known region back, noised to the level of the next step
                        latents[b] = inits[b].keepKnown(latents[b], schedulers[b].addNoise(inits[b].latent(), inits[b].noise(), i + 1));
                    }
                    try {
                        listeners.get(b).onStep(i + 1 - start, run, preview);
                    } catch (RuntimeException e) {
                        ended[b] = new ItemResult.Failed(e);
                    }
                }
            }
            long t2 = System.nanoTime();
            shared.put("steps", (t2 - t1) / 1_000_000);
            List<ItemResult> results = new ArrayList<>();
            for (int b = 0; b < n; b++) {
                if (ended[b] != null) {
                    results.add(ended[b]);
                    continue;
                }
                long v0 = System.nanoTime();
                float[] rgb = decode(env, latents[b], h, w);
                if (reqs.get(b).init() != null && reqs.get(b).init().mask() != null) {
                    rgb = composite(rgb, reqs.get(b).init());
                }
                Map<String, Long> timings = new LinkedHashMap<>(shared);
                timings.put("vae", (System.nanoTime() - v0) / 1_000_000);
                results.add(new ItemResult.Rendered(new RenderOutput(rgb, timings, controlled[b], n)));
            }
            return results;
        } catch (OrtException e) {
            if (RenderOutOfMemoryException.isAllocationFailure(e.getMessage())) {
                // not the task's fault: a smaller batch or a bigger worker may render it
                throw RenderOutOfMemoryException.of(modelId(), first.width(), first.height(), n, e.getMessage(), 0, e);
            }
            throw new BadInputException("model " + modelId() + " refused the input: " + e.getMessage(), e);
        } finally {
            contexts.values().forEach(OnnxTensor::close);
        }
    }

    /** One run of the plain UNet (no ControlNet active) or the merged controlled graph, into {@code noisePred}. */
    private void runUnet(OrtEnvironment env, boolean useControl, float[] modelInput, long[] sampleShape, double t, int items,
                         float[] context, int d, OnnxTensor images, float[] scales, OnnxTensor out, FloatBuffer noisePred,
                         Map<TensorType, OnnxTensor> contexts) throws OrtException {
        Contracts.UNet uc = useControl ? controlledContract : unetContract;
        // a float32 output is written straight into one buffer for every step; a float16 one is read back and widened
        boolean pinned = uc.outputType() == TensorType.FLOAT32;
        OnnxTensor contextTensor = contexts.get(uc.contextType());
        if (contextTensor == null) {
            contextTensor = Tensors.floats(env, context, new long[] {items, 77, d}, uc.contextType());
            contexts.put(uc.contextType(), contextTensor);
        }
        try (OnnxTensor sample = Tensors.floats(env, modelInput, sampleShape, uc.sampleType());
             OnnxTensor ts = Tensors.timestep(env, t, items, uc);
             OnnxTensor scaleTensor = useControl ? OnnxTensor.createTensor(env, FloatBuffer.wrap(scales),
                     new long[] {sessions.controlSlots(), items, sessions.residualScales()}) : null) {
            Map<String, OnnxTensor> in = new HashMap<>();
            in.put(uc.sample(), sample);
            in.put(uc.timestep(), ts);
            in.put(uc.context(), contextTensor);
            OrtSession session = sessions.unet();
            if (useControl) {
                in.put(ModelGraphs.CONTROL_IMAGES, images);
                in.put(ModelGraphs.CONTROL_SCALES, scaleTensor);
                session = sessions.controlledUnet();
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
        if (req.init() != null && (req.init().rgb().length != expected
                || (req.init().mask() != null && req.init().mask().length != expected / 3))) {
            throw BadInputException.permanent("the init image or its mask is not " + req.width() + "x" + req.height());
        }
        for (int i = 0; i < req.controls().size(); i++) {
            if (req.controls().get(i).image().length != expected) {
                throw new BadInputException("control image " + i + " is not " + req.width() + "x" + req.height());
            }
        }
        try {
            SchedulerKind.of(req.scheduler()).create(schedulerConfig, req.steps(), req.eta());
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
    }

    /**
     * [N, items, 3, H, W]: each ControlNet's image for every batch item, as one tensor for the
     * merged graph; slots a request leaves empty are zero. Null without ControlNets.
     */
    private OnnxTensor controlImages(OrtEnvironment env, List<RenderRequest> reqs, int items) throws OrtException {
        int slots = sessions.controlSlots();
        if (slots == 0) {
            return null;
        }
        RenderRequest first = reqs.get(0);
        int size = items * 3 * first.width() * first.height();
        float[] all = new float[slots * size];
        List<float[]> perSlot = slotImages(reqs, items);
        for (int c = 0; c < slots; c++) {
            if (perSlot.get(c) != null) {
                System.arraycopy(perSlot.get(c), 0, all, c * size, size);
            }
        }
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(all), new long[] {slots, items, 3, first.height(), first.width()});
    }

    /**
     * Each slot's control images for every batch item [items, 3, H, W] (item j is request j mod n,
     * in both halves under guidance; zero for a request that leaves the slot empty), or null for a
     * slot no request uses.
     */
    private List<float[]> slotImages(List<RenderRequest> reqs, int items) {
        int size = 3 * reqs.get(0).width() * reqs.get(0).height();
        List<float[]> out = new ArrayList<>();
        for (int c = 0; c < sessions.controlSlots(); c++) {
            final int slot = c;
            if (reqs.stream().noneMatch(r -> slot < r.controls().size())) {
                out.add(null);
                continue;
            }
            float[] batch = new float[items * size];
            for (int j = 0; j < items; j++) {
                RenderRequest r = reqs.get(j % reqs.size());
                if (c < r.controls().size()) {
                    System.arraycopy(r.controls().get(c).image(), 0, batch, j * size, size);
                }
            }
            out.add(batch);
        }
        return out;
    }

    private static boolean anyActive(RenderRequest r, int i, int steps) {
        return r.controls().stream().anyMatch(u -> u.activeAt(i, steps));
    }

    /** For one request: [N, items, R+1] scales of a batch of {@code items} (1, or 2 under guidance). */
    float[] scales(RenderRequest req, int i, int steps, int items) {
        return scales(List.of(req), i, steps, items == 2);
    }

    /**
     * [N, items, R+1] scales for step i, or null when no ControlNet is active (the plain UNet runs).
     * Under guidance the batch is [unconditional 0..n-1, conditional 0..n-1].
     */
    float[] scales(List<RenderRequest> reqs, int i, int steps, boolean cfg) {
        int slots = sessions.controlSlots();
        int r = sessions.residualScales();
        if (slots == 0) {
            return null;
        }
        int n = reqs.size();
        int items = cfg ? 2 * n : n;
        float[] s = new float[slots * items * r];
        boolean any = false;
        for (int j = 0; j < items; j++) {
            RenderRequest req = reqs.get(j % n);
            boolean unconditional = cfg && j < n;
            for (int c = 0; c < req.controls().size(); c++) {
                ControlUnit u = req.controls().get(c);
                if (!u.activeAt(i, steps)) {
                    continue;
                }
                any = true;
                boolean condOnly = req.guessMode() || u.mode() == ControlMode.CONTROL;
                for (int k = 0; k < r; k++) {
                    double scale = u.scale();
                    if (req.guessMode()) {
                        scale *= Math.pow(10, -1 + (double) k / (r - 1)); // logspace(-1, 0, r)
                    } else if (u.mode() != ControlMode.BALANCED) {
                        scale *= Math.pow(0.825, r - 1 - k);
                    }
                    s[(c * items + j) * r + k] = unconditional && condOnly ? 0f : (float) scale;
                }
            }
        }
        return any ? s : null;
    }

    /**
     * Classifier-free guidance for request b of n: uncond + g (cond - uncond); without guidance,
     * its prediction itself.
     */
    private static float[] guide(FloatBuffer pred, int b, int n, boolean cfg, int size, float g) {
        float[] eps = new float[size];
        if (!cfg) {
            for (int k = 0, o = b * size; k < size; k++) {
                eps[k] = pred.get(o + k);
            }
            return eps;
        }
        int u0 = b * size;
        int c0 = (n + b) * size;
        for (int k = 0; k < size; k++) {
            float u = pred.get(u0 + k);
            float c = pred.get(c0 + k);
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
    /**
     * An init image in latent space: its VAE encoding (the distribution's mean, scaled), the unit
     * noise drawn for it, and the mask at latent resolution (1: repaint), or null without one.
     */
    private record InitLatents(float[] latent, float[] noise, float[] mask) {
        /** {@code mask * sample + (1 - mask) * known}, each latent pixel over its 4 channels. */
        float[] keepKnown(float[] sample, float[] known) {
            int plane = mask.length;
            float[] out = new float[sample.length];
            for (int k = 0; k < out.length; k++) {
                float m = mask[k % plane];
                out[k] = m * sample[k] + (1 - m) * known[k];
            }
            return out;
        }
    }

    /** An image (CHW in [0, 1], 8h x 8w) to its latent: the VAE encoder's mean, scaled by the VAE's factor. */
    private float[] encode(OrtEnvironment env, float[] rgb, int h, int w) throws OrtException {
        OrtSession encoder = sessions.vaeEncoder();
        if (encoder == null) {
            throw BadInputException.permanent("model " + modelId() + " has no VAE encoder, which img2img and inpainting need (a bundle "
                    + "built by farm models import has one; a diffusers export needs vae_encoder/model.onnx)");
        }
        float[] sample = new float[rgb.length];
        for (int k = 0; k < sample.length; k++) {
            sample[k] = rgb[k] * 2f - 1f;
        }
        float[] latent;
        String input = encoder.getInputNames().iterator().next();
        String output = encoder.getOutputNames().iterator().next();
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(sample), new long[] {1, 3, h * 8, w * 8});
             OrtSession.Result r = encoder.run(Map.of(input, in), Set.of(output))) {
            latent = Tensors.read((OnnxTensor) r.get(output).orElseThrow());
        }
        float f = sessions.vaeScalingFactor();
        for (int k = 0; k < latent.length; k++) {
            latent[k] *= f;
        }
        return latent;
    }

    private InitLatents initLatents(OrtEnvironment env, InitImage init, float[] unitNoise, int h, int w) throws OrtException {
        int width = w * 8;
        int height = h * 8;
        float[] latent = encode(env, init.rgb(), h, w);
        float[] mask = null;
        if (init.mask() != null) {
            // a latent pixel is repainted when any of its 8x8 image pixels is: small masked details are not lost to the known latent
            mask = new float[h * w];
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int at = (y / 8) * w + x / 8;
                    mask[at] = Math.max(mask[at], init.mask()[y * width + x] > 0 ? 1f : 0f);
                }
            }
        }
        return new InitLatents(latent, unitNoise, mask);
    }

    /**
     * An inpainting UNet's extra input channels for one image: the mask at latent size (1:
     * repaint) and the latent of the image with the masked part blanked (grey), as diffusers'
     * inpainting pipeline makes them. Without a mask everything is repainted: a mask of ones and a
     * blank image, also for text to image.
     */
    private float[] inpaintingInputs(OrtEnvironment env, InitImage init, InitLatents latents, int h, int w) {
        int plane = h * w;
        float[] out = new float[plane + LATENT_CHANNELS * plane];
        float[] blank = new float[3 * plane * 64];
        java.util.Arrays.fill(blank, 0.5f);
        float[] masked = blank;
        if (latents != null && latents.mask() != null) {
            System.arraycopy(latents.mask(), 0, out, 0, plane);
            masked = init.rgb().clone();
            int pixels = init.mask().length;
            for (int k = 0; k < masked.length; k++) {
                if (init.mask()[k % pixels] >= 0.5f) {
                    masked[k] = 0.5f;
                }
            }
        } else {
            java.util.Arrays.fill(out, 0, plane, 1f);
        }
        try {
            System.arraycopy(encode(env, masked, h, w), 0, out, plane, LATENT_CHANNELS * plane);
        } catch (OrtException e) {
            throw new BadInputException("model " + modelId() + "'s VAE encoder refused the masked image: " + e.getMessage(), e);
        }
        return out;
    }

    /** The decoded image inside the (blurred) mask, the init image's own pixels outside it, exactly. */
    private static float[] composite(float[] rgb, InitImage init) {
        int plane = init.mask().length;
        float[] out = new float[rgb.length];
        for (int k = 0; k < out.length; k++) {
            float m = init.mask()[k % plane];
            out[k] = m == 0f ? init.rgb()[k] : m == 1f ? rgb[k] : m * rgb[k] + (1 - m) * init.rgb()[k];
        }
        return out;
    }

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

    /** For tests: UNet steps run so far, one per step of a batch. */
    long modelRuns() {
        return modelRuns.get();
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
