package dev.cnfarm.worker.render;

/**
 * Turns a render request into an RGB image, as a float tensor [3, H, W] in [0, 1]. Holds native
 * resources (ONNX Runtime sessions), hence AutoCloseable; one instance renders one image at a time.
 */
public interface Renderer extends AutoCloseable {

    float[] render(RenderRequest request, StepListener listener);

    /** The model bundle id this renderer serves. */
    String modelId();

    /** The execution provider the sessions run on ("CPU", "CUDA"). */
    String executionProvider();

    @Override
    void close();
}
