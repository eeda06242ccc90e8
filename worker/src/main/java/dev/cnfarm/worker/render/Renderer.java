package dev.cnfarm.worker.render;

/**
 * Turns a render request into an image. Holds native resources (ONNX Runtime sessions, kept
 * warm between tasks), hence AutoCloseable; one instance renders one image at a time.
 */
public interface Renderer extends AutoCloseable {

    RenderOutput render(RenderRequest request, StepListener listener);

    /** The model bundle id this renderer serves. */
    String modelId();

    /** The execution provider the sessions run on ("CPU", "CUDA"). */
    String executionProvider();

    /** ControlNet inputs the model takes (0 for none). */
    int controlSlots();

    /** The model's folder layout and graph contract in one line; empty for models that are not Stable Diffusion graphs. */
    default String modelLayout() {
        return "";
    }

    @Override
    void close();
}
