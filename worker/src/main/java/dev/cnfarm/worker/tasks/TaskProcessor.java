package dev.cnfarm.worker.tasks;

import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectNotFoundException;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.common.storage.StorageUnavailableException;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.proto.v1.ControlNetInput;
import dev.cnfarm.proto.v1.FailureCause;
import dev.cnfarm.worker.engine.ControlMode;
import dev.cnfarm.worker.engine.ControlUnit;
import dev.cnfarm.worker.preprocess.ControlMaps;
import dev.cnfarm.worker.render.RenderOutput;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.RenderTask;
import dev.cnfarm.proto.v1.TaskResult;
import dev.cnfarm.proto.v1.Timings;
import dev.cnfarm.worker.output.PngEncoder;
import dev.cnfarm.worker.render.BadInputException;
import dev.cnfarm.worker.render.RenderOutOfMemoryException;
import dev.cnfarm.worker.render.ItemResult;
import dev.cnfarm.worker.render.InitImage;
import dev.cnfarm.worker.preprocess.ImageSizes;
import dev.cnfarm.worker.preprocess.MaskBlur;
import dev.cnfarm.worker.render.LoraMerger;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.Renderer;
import dev.cnfarm.worker.render.StepListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks from control image to stored PNG: fetch and check the control images, render (one
 * task, or a micro-batch of them through the model together), encode, upload. Every failure is
 * sorted into a content fault or an infrastructure fault, which decides whether the task is given
 * back for another attempt.
 */
public final class TaskProcessor {
    private static final Logger LOG = LoggerFactory.getLogger(TaskProcessor.class);

    private final ObjectStore store;
    private final Function<String, Renderer> renderers;
    private final ControlMaps controlMaps;
    private final long maxPixels;
    private final LoraMerger loras;
    /** Enlarged maps of tiled upscales, the most recent few (each up to 8192^2 pixels), for the next tiles of their image. */
    private final Map<String, ControlMaps.ControlMap> enlargedMaps = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ControlMaps.ControlMap> eldest) {
            return size() > 2;
        }
    };

    /** @param renderers the renderer of a model id; throws {@link BadInputException} for a model the worker lacks */
    public TaskProcessor(ObjectStore store, Function<String, Renderer> renderers, ControlMaps controlMaps) {
        this(store, renderers, controlMaps, Long.MAX_VALUE, LoraMerger.NONE);
    }

    /**
     * @param maxPixels the largest image this worker renders ({@code worker.max-pixels})
     * @param loras     the model a task renders with once its LoRA files are merged in
     */
    public TaskProcessor(ObjectStore store, Function<String, Renderer> renderers, ControlMaps controlMaps, long maxPixels, LoraMerger loras) {
        this.store = store;
        this.renderers = renderers;
        this.controlMaps = controlMaps;
        this.maxPixels = maxPixels;
        this.loras = loras;
    }

    /** One task to run: the task, the share group's delivery count, and who hears of its steps. */
    public record Attempt(RenderTask task, int delivery, StepListener listener) {}

    /** A task whose control images are ready: what it renders, with what, and where it goes. */
    private record Prepared(Attempt attempt, Renderer renderer, RenderRequest request, List<ControlMaps.ControlMap> maps,
                            String outputKey, long fetchNanos) {}

    /**
     * @param delivery the share group's delivery count; with the task's release number it makes the
     *                 output key, so two attempts of one task never write the same object
     */
    public TaskOutcome process(RenderTask task, int delivery, StepListener listener) {
        return processBatch(List.of(new Attempt(task, delivery, listener))).get(0);
    }

    /**
     * Runs tasks a worker took together: each fetches its control images, those of one model are
     * rendered as one batch (see {@link Renderer#renderBatch}), each is stored. Every outcome is
     * the task's own: a task that fails on its input, is cancelled or is given back ends alone; a
     * failure of the batch's model run (a refused run) ends every task in it, except running out
     * of memory, after which the tasks are rendered one at a time.
     */
    public List<TaskOutcome> processBatch(List<Attempt> attempts) {
        TaskOutcome[] outcomes = new TaskOutcome[attempts.size()];
        Map<Renderer, List<Integer>> byModel = new LinkedHashMap<>();
        List<Prepared> prepared = new ArrayList<>(java.util.Collections.nCopies(attempts.size(), null));
        for (int i = 0; i < attempts.size(); i++) {
            if (attempts.get(i).task().getTilesCount() > 0) {
                outcomes[i] = blend(attempts.get(i)); // a tiled upscale's blend: no model runs
                continue;
            }
            try {
                Prepared p = prepare(attempts.get(i));
                prepared.set(i, p);
                byModel.computeIfAbsent(p.renderer(), r -> new ArrayList<>()).add(i);
            } catch (RuntimeException | OutOfMemoryError e) {
                outcomes[i] = outcomeOf(attempts.get(i).task(), e);
            }
        }
        for (Map.Entry<Renderer, List<Integer>> batch : byModel.entrySet()) {
            renderAndStore(batch.getKey(), batch.getValue(), prepared, outcomes);
        }
        return List.of(outcomes);
    }

    /**
     * Renders tasks of one model together and stores each image. A batch that runs out of memory
     * is rendered again one task at a time (a GPU may hold one image's activations but not
     * several), so a too-large {@code worker.max-batch} costs time, not tasks.
     */
    private void renderAndStore(Renderer renderer, List<Integer> batch, List<Prepared> prepared, TaskOutcome[] outcomes) {
        List<Prepared> members = batch.stream().map(prepared::get).toList();
        long t0 = System.nanoTime();
        List<ItemResult> results;
        try {
            results = renderer.renderBatch(members.stream().map(Prepared::request).toList(),
                    members.stream().map(p -> p.attempt().listener()).toList());
        } catch (OutOfMemoryError | RenderOutOfMemoryException e) {
            if (batch.size() > 1) {
                LOG.warn("a batch of {} tasks ran out of memory ({}); rendering them one at a time", batch.size(), e.getMessage());
                batch.forEach(i -> renderAndStore(renderer, List.of(i), prepared, outcomes));
                return;
            }
            outcomes[batch.get(0)] = outcomeOf(members.get(0).attempt().task(), e);
            return;
        } catch (RuntimeException e) {
            for (int k = 0; k < batch.size(); k++) {
                outcomes[batch.get(k)] = outcomeOf(members.get(k).attempt().task(), e);
            }
            return;
        }
        long renderNanos = System.nanoTime() - t0;
        for (int k = 0; k < members.size(); k++) {
            try {
                outcomes[batch.get(k)] = store(members.get(k), results.get(k).orThrow(), renderNanos);
            } catch (RuntimeException | OutOfMemoryError e) {
                outcomes[batch.get(k)] = outcomeOf(members.get(k).attempt().task(), e);
            }
        }
    }

    /** Sorts what ended a task into a content fault (not tried again) or an infrastructure fault (tried again). */
    private static TaskOutcome outcomeOf(RenderTask task, Throwable e) {
        if (e instanceof TaskStoppedException s) {
            if (s.fenced()) {
                return new TaskOutcome.Fenced(s.getMessage());
            }
            return s.cancelled() ? new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_CANCELLED, s.getMessage(), false)
                    : new TaskOutcome.GivenBack(s.getMessage());
        }
        if (e instanceof BadInputException bad) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_BAD_INPUT, e.getMessage(), false, bad.isPermanent());
        }
        if (e instanceof ObjectNotFoundException) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_BAD_INPUT,
                    "a control image of the task is no longer in storage: " + e.getMessage(), false, true);
        }
        if (e instanceof StorageUnavailableException) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_STORAGE_UNAVAILABLE, e.getMessage(), true);
        }
        if (e instanceof RenderOutOfMemoryException) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_OUT_OF_MEMORY, e.getMessage(), true);
        }
        if (e instanceof OutOfMemoryError) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_OUT_OF_MEMORY, "out of memory: " + e.getMessage(), true);
        }
        LOG.warn("task {} failed unexpectedly", task.getTaskId(), e);
        return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_INTERNAL, e.toString(), true);
    }

    /** Fetches (or makes) the task's control maps and builds its render request. */
    private Prepared prepare(Attempt a) {
        RenderTask task = a.task();
        String outputKey = ObjectKeys.attemptOutput(task.getOutputKey(), Math.max(1, task.getRelease()), a.delivery());
        Renderer renderer = renderers.apply(task.getModel());
        int w = task.getWidth();
        int h = task.getHeight();
        if ((long) w * h > maxPixels) {
            // refused before anything is allocated: past its memory a CPU worker is not told "out of memory", it is killed
            throw RenderOutOfMemoryException.overLimit(task.getModel(), w, h, maxPixels);
        }
        long t0 = System.nanoTime();
        if (task.getLorasCount() > 0) {
            renderer = loras.apply(renderer, task.getTenant(), task.getLorasList());
        }
        List<ControlUnit> controls = new ArrayList<>();
        List<ControlMaps.ControlMap> maps = new ArrayList<>();
        for (ControlNetInput c : task.getControlnetsList()) {
            ControlMaps.ControlMap map = task.hasCrop()
                    ? cropped(enlarged(task, c, "control image"), task)
                    : controlMaps.get(task.getTenant(), c, w, h);
            maps.add(map);
            ControlMode mode;
            try {
                mode = ControlMode.of(c.getMode());
            } catch (IllegalArgumentException e) {
                throw new BadInputException(e.getMessage(), e);
            }
            controls.add(new ControlUnit(map.chw(), c.getScale(), c.getStart(), c.getEnd() == 0 ? 1f : c.getEnd(), mode));
        }
        controls = ControlSlots.arrange(task.getModel(), renderer.controlNames(),
                task.getControlnetsList().stream().map(ControlNetInput::getControlnet).toList(), controls, w, h);
        dev.cnfarm.worker.engine.noise.NoiseKind noise;
        try {
            noise = dev.cnfarm.worker.engine.noise.NoiseKind.of(task.getNoise());
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
        RenderRequest request = new RenderRequest(task.getPrompt(), task.getNegativePrompt(), controls, task.getGuessMode(),
                task.getSeed(), task.getSteps(), w, h, task.getGuidanceScale(), task.getScheduler(), task.getEta(), noise, initImage(task, w, h));
        return new Prepared(a, renderer, request, maps, outputKey, System.nanoTime() - t0);
    }

    /**
     * The task's init image and mask at its size (fetched, checked and resized as control images
     * are, and cached with them), the mask blurred as the job asked; null without an init image.
     */
    private InitImage initImage(RenderTask task, int w, int h) {
        if (!task.hasInitImage()) {
            return null;
        }
        float[] rgb = task.hasCrop()
                ? cropped(enlarged(task, asIs(task.getInitImage()), "init image"), task).chw()
                : controlMaps.get(task.getTenant(), asIs(task.getInitImage()), w, h, "init image").chw();
        float[] mask = null;
        if (task.hasMaskImage()) {
            int[] initSize = ImageSizes.of(store, task.getInitImage().getKey(), "init image");
            int[] maskSize = ImageSizes.of(store, task.getMaskImage().getKey(), "mask image");
            if (initSize[0] != maskSize[0] || initSize[1] != maskSize[1]) {
                throw BadInputException.permanent("mask image " + task.getMaskImage().getKey() + " is " + maskSize[0] + "x" + maskSize[1]
                        + ", its init image " + task.getInitImage().getKey() + " " + initSize[0] + "x" + initSize[1]
                        + "; mask_images must be the size of their init images");
            }
            float[] gray = controlMaps.get(task.getTenant(), asIs(task.getMaskImage()), w, h, "mask image").chw();
            mask = MaskBlur.blur(java.util.Arrays.copyOf(gray, w * h), w, h, task.getMaskBlur()); // the first channel: white repaints
        }
        return new InitImage(rgb, task.getStrength(), mask);
    }

    /**
     * A map at a tile's enlarged size, kept in memory for the next tiles of the same image on this
     * worker (the few most recent): otherwise every tile fetches and decodes the whole enlarged map.
     */
    private ControlMaps.ControlMap enlarged(RenderTask task, ControlNetInput input, String what) {
        String key = task.getTenant() + "|" + input.toByteString().hashCode() + "|" + input.getImage().getKey() + "|"
                + task.getCrop().getFullWidth() + "x" + task.getCrop().getFullHeight();
        synchronized (enlargedMaps) {
            ControlMaps.ControlMap kept = enlargedMaps.get(key);
            if (kept != null) {
                return kept;
            }
        }
        ControlMaps.ControlMap made = controlMaps.get(task.getTenant(), input, task.getCrop().getFullWidth(), task.getCrop().getFullHeight(),
                what);
        synchronized (enlargedMaps) {
            enlargedMaps.put(key, made);
        }
        return made;
    }

    /**
     * A tile's part of a map made at the enlarged size: its crop of the CHW values, and that crop as
     * the PNG kept beside the tile's output (not the whole enlarged map again with every tile).
     */
    private static ControlMaps.ControlMap cropped(ControlMaps.ControlMap full, RenderTask task) {
        var crop = task.getCrop();
        int fw = crop.getFullWidth();
        int fh = crop.getFullHeight();
        int w = task.getWidth();
        int h = task.getHeight();
        if (crop.getX() + w > fw || crop.getY() + h > fh) {
            throw BadInputException.permanent("tile " + w + "x" + h + " at " + crop.getX() + "," + crop.getY() + " lies outside the "
                    + fw + "x" + fh + " image it is cut from");
        }
        float[] out = new float[3 * w * h];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < h; y++) {
                System.arraycopy(full.chw(), c * fw * fh + (crop.getY() + y) * fw + crop.getX(), out, c * w * h + y * w, w);
            }
        }
        return new ControlMaps.ControlMap(PngEncoder.encode(out, w, h, ""), out, full.key(), full.cached());
    }

    /**
     * A tiled upscale's blend: fetches the tiles (each checked against the digest its task
     * recorded), feathers them into one image and stores it with its sidecar.
     */
    private TaskOutcome blend(Attempt a) {
        RenderTask task = a.task();
        try {
            long t0 = System.nanoTime();
            List<TileBlend.Placed> placed = new ArrayList<>();
            for (dev.cnfarm.proto.v1.TilePlacement p : task.getTilesList()) {
                byte[] png = store.get(p.getImage().getKey());
                if (!p.getImage().getSha256().isEmpty() && !Sha256.of(png).equals(p.getImage().getSha256())) {
                    throw new StorageUnavailableException("tile " + p.getImage().getKey() + " does not hold the bytes its task recorded", null);
                }
                java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(png));
                if (img == null || img.getWidth() != p.getWidth() || img.getHeight() != p.getHeight()) {
                    throw BadInputException.permanent("tile " + p.getImage().getKey() + " is not the " + p.getWidth() + "x" + p.getHeight()
                            + " image its task rendered");
                }
                placed.add(new TileBlend.Placed(chw(img), p.getX(), p.getY(), p.getWidth(), p.getHeight()));
            }
            long t1 = System.nanoTime();
            float[] rgb = TileBlend.blend(placed, task.getWidth(), task.getHeight(), task.getOverlap());
            long t2 = System.nanoTime();
            a.listener().beforeStore();
            String outputKey = ObjectKeys.attemptOutput(task.getOutputKey(), Math.max(1, task.getRelease()), a.delivery());
            ObjectInfo stored = store.put(outputKey, PngEncoder.encode(rgb, task.getWidth(), task.getHeight(), parameters(task)), "image/png");
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("job_id", task.getJobId());
            s.put("task_id", task.getTaskId());
            s.put("index", task.getIndex());
            s.put("mode", "tile_blend");
            s.put("stage", task.getStage());
            s.put("width", task.getWidth());
            s.put("height", task.getHeight());
            s.put("overlap", task.getOverlap());
            s.put("tiles", task.getTilesList().stream().map(p -> Map.of("image", p.getImage().getKey(), "x", p.getX(), "y", p.getY())).toList());
            s.put("image", Map.of("key", stored.key(), "sha256", stored.sha256(), "size_bytes", stored.sizeBytes()));
            store.put(ObjectKeys.sidecar(outputKey), Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(s), "application/json");
            long t3 = System.nanoTime();
            return new TaskOutcome.Succeeded(TaskResult.newBuilder()
                    .setOutput(ObjectRef.newBuilder().setKey(stored.key()).setSha256(stored.sha256()).setSizeBytes(stored.sizeBytes()))
                    .setWidth(task.getWidth()).setHeight(task.getHeight())
                    .setTimings(Timings.newBuilder().setFetchMs((t1 - t0) / 1_000_000).setRenderMs((t2 - t1) / 1_000_000)
                            .setUploadMs((t3 - t2) / 1_000_000))
                    .build());
        } catch (java.io.IOException e) {
            return outcomeOf(task, BadInputException.permanent("a tile cannot be read: " + e.getMessage(), e));
        } catch (RuntimeException | OutOfMemoryError e) {
            return outcomeOf(task, e);
        }
    }

    private static float[] chw(java.awt.image.BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        int[] rgb = img.getRGB(0, 0, w, h, null, 0, w);
        float[] out = new float[3 * w * h];
        for (int k = 0; k < rgb.length; k++) {
            out[k] = ((rgb[k] >> 16) & 0xff) / 255f;
            out[w * h + k] = ((rgb[k] >> 8) & 0xff) / 255f;
            out[2 * w * h + k] = (rgb[k] & 0xff) / 255f;
        }
        return out;
    }

    /** An image taken as it is (resized to the task's size, nothing detected in it). */
    private static ControlNetInput asIs(ObjectRef image) {
        return ControlNetInput.newBuilder().setImage(image).setPreprocessor(dev.cnfarm.common.preprocess.PreprocessorCatalog.PASSTHROUGH)
                .setResizeMode("just_resize").setMode("balanced").build();
    }

    /** Encodes and stores the image, its control maps and its sidecar. */
    private TaskOutcome store(Prepared p, RenderOutput out, long renderNanos) {
        RenderTask task = p.attempt().task();
        p.attempt().listener().beforeStore();
        long t2 = System.nanoTime();
        byte[] png = PngEncoder.encode(out.rgb(), task.getWidth(), task.getHeight(), parameters(task));
        ObjectInfo stored = store.put(p.outputKey(), png, "image/png");
        List<String> mapKeys = new ArrayList<>();
        for (int i = 0; i < p.maps().size(); i++) {
            // the control map each image was made with is kept beside it
            String mapKey = ObjectKeys.controlMap(p.outputKey(), i);
            store.put(mapKey, p.maps().get(i).png(), "image/png");
            mapKeys.add(mapKey);
        }
        store.put(ObjectKeys.sidecar(p.outputKey()), sidecar(task, p.renderer(), out, stored, p.maps(), mapKeys), "application/json");
        long t3 = System.nanoTime();
        return new TaskOutcome.Succeeded(TaskResult.newBuilder()
                .setOutput(ObjectRef.newBuilder().setKey(stored.key()).setSha256(stored.sha256()).setSizeBytes(stored.sizeBytes()))
                .setWidth(task.getWidth()).setHeight(task.getHeight())
                .setTimings(Timings.newBuilder()
                        .setFetchMs(p.fetchNanos() / 1_000_000)
                        .setRenderMs(renderNanos / 1_000_000)
                        .setUploadMs((t3 - t2) / 1_000_000))
                .build());
    }

    /** Everything that made the image, as JSON beside it. */
    private static byte[] sidecar(RenderTask t, Renderer renderer, RenderOutput out, ObjectInfo image, List<ControlMaps.ControlMap> maps,
                                  List<String> mapKeys) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("job_id", t.getJobId());
        s.put("task_id", t.getTaskId());
        s.put("index", t.getIndex());
        s.put("prompt", t.getPrompt());
        s.put("negative_prompt", t.getNegativePrompt());
        s.put("seed", t.getSeed());
        s.put("steps", t.getSteps());
        s.put("scheduler", t.getScheduler());
        s.put("eta", t.getEta());
        s.put("guidance_scale", t.getGuidanceScale());
        s.put("width", t.getWidth());
        s.put("height", t.getHeight());
        s.put("model", t.getModel());
        s.put("guess_mode", t.getGuessMode());
        List<Map<String, Object>> cns = new ArrayList<>();
        for (int i = 0; i < t.getControlnetsCount(); i++) {
            ControlNetInput c = t.getControlnets(i);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("image", c.getImage().getKey());
            m.put("image_sha256", c.getImage().getSha256());
            m.put("scale", c.getScale());
            m.put("start", c.getStart());
            m.put("end", c.getEnd());
            m.put("mode", c.getMode());
            m.put("preprocessor", c.getPreprocessor());
            m.put("preprocessor_params", c.getPreprocessorParamsMap());
            m.put("resize_mode", c.getResizeMode());
            m.put("control_map", mapKeys.get(i));
            m.put("control_map_cached", maps.get(i).cached());
            cns.add(m);
        }
        s.put("mode", t.hasMaskImage() ? "inpaint" : t.hasInitImage() ? "img2img" : cns.isEmpty() ? "text_to_image" : "controlnet");
        if (t.hasInitImage()) {
            s.put("init_image", t.getInitImage().getKey());
            s.put("strength", t.getStrength());
        }
        if (t.getStage() > 0) {
            s.put("stage", t.getStage()); // a hires pass, refining the output of the task it depends on
            s.put("depends_on", t.getDependsOnList());
        }
        if (t.hasMaskImage()) {
            s.put("mask_image", t.getMaskImage().getKey());
            s.put("mask_blur", t.getMaskBlur());
        }
        s.put("noise", t.getNoise().isEmpty() ? "farm" : t.getNoise());
        s.put("loras", t.getLorasList().stream().map(l -> Map.of("name", l.getName(), "weight", l.getWeight(), "file", l.getFile().getKey(),
                "sha256", l.getFile().getSha256())).toList());
        s.put("controlnets", cns);
        s.put("controlled_steps", out.controlledSteps());
        s.put("batch_size", out.batchSize());
        s.put("execution_provider", renderer.executionProvider());
        s.put("timings_ms", out.timingsMs());
        s.put("image", Map.of("key", image.key(), "sha256", image.sha256(), "size_bytes", image.sizeBytes()));
        try {
            return Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(s);
        } catch (Exception e) {
            throw new IllegalStateException("sidecar not serializable", e);
        }
    }

    /** The generation parameters in the text form image tools read from a PNG's parameters chunk. */
    static String parameters(RenderTask t) {
        StringBuilder s = new StringBuilder(t.getPrompt());
        for (dev.cnfarm.proto.v1.LoraRef l : t.getLorasList()) {
            // where A1111 records a LoRA: a tag in the prompt, which it and the tools that read its PNGs parse back
            String tag = "<lora:" + l.getName() + ":" + l.getWeight() + ">";
            if (!t.getPrompt().contains(tag)) {
                s.append(s.isEmpty() ? "" : " ").append(tag);
            }
        }
        if (!t.getNegativePrompt().isEmpty()) {
            s.append("\nNegative prompt: ").append(t.getNegativePrompt());
        }
        s.append("\nSteps: ").append(t.getSteps())
                .append(", Sampler: ").append(t.getScheduler())
                .append(", CFG scale: ").append(t.getGuidanceScale())
                .append(", Seed: ").append(t.getSeed())
                .append(", Size: ").append(t.getWidth()).append('x').append(t.getHeight())
                .append(", Model: ").append(t.getModel());
        for (int i = 0; i < t.getControlnetsCount(); i++) {
            ControlNetInput c = t.getControlnets(i);
            s.append(", ControlNet ").append(i).append(": \"Weight: ").append(c.getScale())
                    .append(", Guidance Start: ").append(c.getStart()).append(", Guidance End: ").append(c.getEnd())
                    .append(", Control Mode: ").append(c.getMode()).append('"');
        }
        if (t.getGuessMode()) {
            s.append(", Guess mode: true");
        }
        if (t.hasCrop()) {
            s.append(", Tile: ").append(t.getCrop().getX()).append(',').append(t.getCrop().getY()).append(" of ")
                    .append(t.getCrop().getFullWidth()).append('x').append(t.getCrop().getFullHeight());
        } else if (t.getStage() == 1 && t.getDependsOnCount() == 1) {
            s.append(", Hires pass of task: ").append(t.getDependsOn(0));
        }
        if (t.getTilesCount() > 0) {
            s.append(", Blend of tiles: ").append(t.getTilesCount()).append(", Tile overlap: ").append(t.getOverlap());
        }
        if (t.hasInitImage()) {
            s.append(", Denoising strength: ").append(t.getStrength()); // A1111's names for img2img's settings
            if (t.hasMaskImage()) {
                s.append(", Mask blur: ").append(t.getMaskBlur());
            }
        }
        if ("torch_cpu".equals(t.getNoise())) {
            s.append(", RNG: CPU"); // A1111's name for noise from PyTorch's CPU generator
        } else if ("cuda_philox".equals(t.getNoise())) {
            s.append(", RNG: NV"); // A1111's name for the GPU's numbers made on the CPU
        }
        return s.toString();
    }
}
