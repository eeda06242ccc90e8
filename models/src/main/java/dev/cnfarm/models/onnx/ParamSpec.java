package dev.cnfarm.models.onnx;

/**
 * A trainable parameter of a graph.
 *
 * @param onnxName  initializer name in the ONNX graph ({@code component.key})
 * @param component the model it belongs to ({@code unet}, {@code controlnet0}, {@code text_encoder}, {@code vae})
 * @param key       its name in the component's diffusers state dict, which is how trained weights bind
 * @param shape     PyTorch layout (Linear [out, in], Conv [out, in, kH, kW])
 * @param fanIn     inputs per output, for random initialisation
 */
public record ParamSpec(String onnxName, String component, String key, long[] shape, Init init, long fanIn) {

    public long count() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
