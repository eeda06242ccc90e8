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
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.Renderer;
import dev.cnfarm.worker.render.StepListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one task from control image to stored PNG: fetch and check the control image, render,
 * encode, upload. Every failure is sorted into a content fault or an infrastructure fault, which
 * decides whether the task is given back for another attempt.
 */
public final class TaskProcessor {
    private static final Logger LOG = LoggerFactory.getLogger(TaskProcessor.class);

    private final ObjectStore store;
    private final Function<String, Renderer> renderers;
    private final ControlMaps controlMaps;

    /** @param renderers the renderer of a model id; throws {@link BadInputException} for a model the worker lacks */
    public TaskProcessor(ObjectStore store, Function<String, Renderer> renderers, ControlMaps controlMaps) {
        this.store = store;
        this.renderers = renderers;
        this.controlMaps = controlMaps;
    }

    /**
     * @param delivery the share group's delivery count; with the task's release number it makes the
     *                 output key, so two attempts of one task never write the same object
     */
    public TaskOutcome process(RenderTask task, int delivery, StepListener listener) {
        try {
            return render(task, ObjectKeys.attemptOutput(task.getOutputKey(), Math.max(1, task.getRelease()), delivery), listener);
        } catch (TaskStoppedException e) {
            return e.cancelled() ? new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_CANCELLED, e.getMessage(), false)
                    : new TaskOutcome.GivenBack(e.getMessage());
        } catch (BadInputException e) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_BAD_INPUT, e.getMessage(), false);
        } catch (ObjectNotFoundException e) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_BAD_INPUT,
                    "a control image of the task is no longer in storage: " + e.getMessage(), false);
        } catch (StorageUnavailableException e) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_STORAGE_UNAVAILABLE, e.getMessage(), true);
        } catch (OutOfMemoryError e) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_OUT_OF_MEMORY, "out of memory: " + e.getMessage(), true);
        } catch (RuntimeException e) {
            LOG.warn("task {} failed unexpectedly", task.getTaskId(), e);
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_INTERNAL, e.toString(), true);
        }
    }

    private TaskOutcome render(RenderTask task, String outputKey, StepListener listener) {
        Renderer renderer = renderers.apply(task.getModel());
        int w = task.getWidth();
        int h = task.getHeight();
        if (task.getControlnetsCount() == 0) {
            throw new BadInputException("the task names no control image");
        }
        long t0 = System.nanoTime();
        List<ControlUnit> controls = new ArrayList<>();
        List<ControlMaps.ControlMap> maps = new ArrayList<>();
        for (ControlNetInput c : task.getControlnetsList()) {
            ControlMaps.ControlMap map = controlMaps.get(task.getTenant(), c, w, h);
            maps.add(map);
            ControlMode mode;
            try {
                mode = ControlMode.of(c.getMode());
            } catch (IllegalArgumentException e) {
                throw new BadInputException(e.getMessage(), e);
            }
            controls.add(new ControlUnit(map.chw(), c.getScale(), c.getStart(), c.getEnd() == 0 ? 1f : c.getEnd(), mode));
        }
        long t1 = System.nanoTime();
        RenderOutput out = renderer.render(new RenderRequest(task.getPrompt(), task.getNegativePrompt(), controls, task.getGuessMode(),
                task.getSeed(), task.getSteps(), w, h, task.getGuidanceScale(), task.getScheduler(), task.getEta()), listener);
        long t2 = System.nanoTime();
        byte[] png = PngEncoder.encode(out.rgb(), w, h, parameters(task));
        ObjectInfo stored = store.put(outputKey, png, "image/png");
        List<String> mapKeys = new ArrayList<>();
        for (int i = 0; i < maps.size(); i++) {
            // the control map each image was made with is kept beside it
            String mapKey = ObjectKeys.controlMap(outputKey, i);
            store.put(mapKey, maps.get(i).png(), "image/png");
            mapKeys.add(mapKey);
        }
        store.put(ObjectKeys.sidecar(outputKey), sidecar(task, renderer, out, stored, maps, mapKeys), "application/json");
        long t3 = System.nanoTime();
        return new TaskOutcome.Succeeded(TaskResult.newBuilder()
                .setOutput(ObjectRef.newBuilder().setKey(stored.key()).setSha256(stored.sha256()).setSizeBytes(stored.sizeBytes()))
                .setWidth(w).setHeight(h)
                .setTimings(Timings.newBuilder()
                        .setFetchMs((t1 - t0) / 1_000_000)
                        .setRenderMs((t2 - t1) / 1_000_000)
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
        s.put("controlnets", cns);
        s.put("controlled_steps", out.controlledSteps());
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
        return s.toString();
    }
}
