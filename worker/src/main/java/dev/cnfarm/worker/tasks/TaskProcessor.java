package dev.cnfarm.worker.tasks;

import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.common.storage.ObjectNotFoundException;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.common.storage.StorageUnavailableException;
import dev.cnfarm.proto.v1.FailureCause;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.RenderTask;
import dev.cnfarm.proto.v1.TaskResult;
import dev.cnfarm.proto.v1.Timings;
import dev.cnfarm.worker.output.PngEncoder;
import dev.cnfarm.worker.render.BadInputException;
import dev.cnfarm.worker.render.ControlImage;
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
    private final Renderer renderer;

    public TaskProcessor(ObjectStore store, Renderer renderer) {
        this.store = store;
        this.renderer = renderer;
    }

    public TaskOutcome process(RenderTask task, StepListener listener) {
        try {
            return render(task, listener);
        } catch (BadInputException e) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_BAD_INPUT, e.getMessage(), false);
        } catch (ObjectNotFoundException e) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_BAD_INPUT,
                    "control image " + task.getControlImage().getKey() + " is no longer in storage", false);
        } catch (StorageUnavailableException e) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_STORAGE_UNAVAILABLE, e.getMessage(), true);
        } catch (OutOfMemoryError e) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_OUT_OF_MEMORY, "out of memory: " + e.getMessage(), true);
        } catch (RuntimeException e) {
            LOG.warn("task {} failed unexpectedly", task.getTaskId(), e);
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_INTERNAL, e.toString(), true);
        }
    }

    private TaskOutcome render(RenderTask task, StepListener listener) {
        if (!task.getModel().equals(renderer.modelId())) {
            throw new BadInputException("model '" + task.getModel() + "' is not served by this worker (it serves '"
                    + renderer.modelId() + "')");
        }
        int w = task.getWidth();
        int h = task.getHeight();
        long t0 = System.nanoTime();
        byte[] file = store.get(task.getControlImage().getKey());
        String sha = Sha256.of(file);
        if (!task.getControlImage().getSha256().isEmpty() && !sha.equals(task.getControlImage().getSha256())) {
            throw new BadInputException("control image " + task.getControlImage().getKey() + " has sha256 " + sha
                    + " but the job recorded " + task.getControlImage().getSha256());
        }
        float[] control = ControlImage.decode(file, w, h);
        long t1 = System.nanoTime();
        float[] image = renderer.render(new RenderRequest(control, w, h, task.getSeed(), task.getSteps(), task.getPrompt(),
                task.getGuidanceScale(), task.getControlScale()), listener);
        long t2 = System.nanoTime();
        byte[] png = PngEncoder.encode(image, w, h, parameters(task));
        ObjectInfo stored = store.put(task.getOutputKey(), png, "image/png");
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
                .append(", Model: ").append(t.getModel())
                .append(", ControlNet scale: ").append(t.getControlScale());
        return s.toString();
    }
}
