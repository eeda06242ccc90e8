package dev.cnfarm.worker.render;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns render requests into images. Holds native resources (ONNX Runtime sessions, kept warm
 * between tasks), hence AutoCloseable; one instance renders one request, or one batch, at a time.
 */
public interface Renderer extends AutoCloseable {

    RenderOutput render(RenderRequest request, StepListener listener);

    /**
     * Renders several compatible requests (see {@code BatchKey}), each told of its own steps. A
     * renderer that can run them through its model together does so; this default renders them
     * one after another. An exception from one request's listener or input ends that request
     * alone; one that concerns the model (a refused run, memory) ends them all.
     */
    default List<ItemResult> renderBatch(List<RenderRequest> requests, List<StepListener> listeners) {
        List<ItemResult> results = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            try {
                results.add(new ItemResult.Rendered(render(requests.get(i), listeners.get(i))));
            } catch (RuntimeException e) {
                results.add(new ItemResult.Failed(e));
            }
        }
        return results;
    }

    /** The model bundle id this renderer serves. */
    String modelId();

    /** The execution provider the sessions run on ("CPU", "CUDA"). */
    String executionProvider();

    /** ControlNet inputs the model takes (0 for none). */
    int controlSlots();

    /**
     * What each ControlNet slot is for ({@code canny}, {@code scribble}, ...), in slot order: a job's
     * control input that names a ControlNet goes to the slot of that name.
     */
    default List<String> controlNames() {
        return java.util.stream.IntStream.range(0, controlSlots()).mapToObj(i -> "controlnet" + i).toList();
    }

    /** The model's folder layout and graph contract in one line; empty for models that are not Stable Diffusion graphs. */
    default String modelLayout() {
        return "";
    }

    @Override
    void close();
}
