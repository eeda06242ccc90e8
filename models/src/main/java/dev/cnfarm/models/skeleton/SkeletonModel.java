package dev.cnfarm.models.skeleton;

import dev.cnfarm.models.onnx.Attr;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.proto.Onnx.ModelProto;
import dev.cnfarm.models.onnx.Value;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto.DataType;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The placeholder model of the walking skeleton: a few convolutions that turn a control image and
 * a noise tensor into an RGB image. It has the sampling engine's shape of work (the worker runs it
 * once per step, with less noise each time, and emits progress per step) but none of its meaning;
 * the SD1.5 ControlNet graphs replace it.
 *
 * <pre>
 * inputs   control [1,3,H,W] in [0,1]   noise [1,3,H,W]   noise_level [1]
 * x      = concat(control, noise * noise_level)          [1,6,H,W]
 * h      = tanh(conv3x3(x; 6 -> HIDDEN))
 * image  = sigmoid(conv3x3(h; HIDDEN -> 3) + 4 * (control - 0.5))    [1,3,H,W] in (0,1)
 * </pre>
 * The control term keeps the control image's structure visible in the output, so a user looking at
 * the demo's PNGs can tell which control image made which picture.
 */
public final class SkeletonModel {
    public static final String INPUT_CONTROL = "control";
    public static final String INPUT_NOISE = "noise";
    public static final String INPUT_NOISE_LEVEL = "noise_level";
    public static final String OUTPUT_IMAGE = "image";
    static final int HIDDEN = 8;

    private SkeletonModel() {}

    /** Builds the graph with weights drawn from a generator seeded by {@code seed}. */
    public static ModelProto build(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        GraphBuilder g = new GraphBuilder("skeleton");
        long[] ref = {1, 3, 8, 8};
        Value control = g.input(INPUT_CONTROL, DataType.FLOAT, ref, 1, 3, "height", "width");
        Value noise = g.input(INPUT_NOISE, DataType.FLOAT, ref, 1, 3, "height", "width");
        Value level = g.input(INPUT_NOISE_LEVEL, DataType.FLOAT, new long[] {1}, 1);

        Value w1 = g.constant("conv1.weight", uniform(rnd, HIDDEN * 6 * 9, 1.0 / Math.sqrt(6 * 9)), HIDDEN, 6, 3, 3);
        Value b1 = g.constant("conv1.bias", uniform(rnd, HIDDEN, 0.1), HIDDEN);
        Value w2 = g.constant("conv2.weight", uniform(rnd, 3 * HIDDEN * 9, 4.0 / Math.sqrt(HIDDEN * 9)), 3, HIDDEN, 3, 3);
        Value b2 = g.constant("conv2.bias", uniform(rnd, 3, 0.1), 3);

        long[] six = {1, 6, 8, 8};
        long[] hidden = {1, HIDDEN, 8, 8};
        Value scaledNoise = g.node("Mul", List.of(noise, level), ref);
        Value x = g.node("Concat", List.of(control, scaledNoise), six, Attr.i("axis", 1));
        Attr pads = Attr.ints("pads", 1, 1, 1, 1);
        Attr kernel = Attr.ints("kernel_shape", 3, 3);
        Value h = g.node("Tanh", List.of(g.node("Conv", List.of(x, w1, b1), hidden, pads, kernel)), hidden);
        Value y = g.node("Conv", List.of(h, w2, b2), ref, pads, kernel);
        Value centred = g.node("Sub", List.of(control, g.constant("half", new float[] {0.5f}, 1)), ref);
        Value guide = g.node("Mul", List.of(centred, g.constant("four", new float[] {4f}, 1)), ref);
        Value image = g.node("Sigmoid", List.of(g.node("Add", List.of(y, guide), ref)), ref);
        g.output(image, OUTPUT_IMAGE, 1, 3, "height", "width");
        return g.build(spec -> {
            throw new IllegalStateException("the skeleton model has no parameters");
        }, "walking-skeleton placeholder model (seed " + seed + ")", java.util.Map.of());
    }

    private static float[] uniform(SplittableRandom rnd, int n, double bound) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        }
        return out;
    }
}
