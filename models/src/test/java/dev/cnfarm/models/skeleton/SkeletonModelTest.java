package dev.cnfarm.models.skeleton;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.onnx.proto.Onnx.ModelProto;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The graph written by {@link SkeletonModel} computes, in ONNX Runtime, what its documentation
 * says: checked against a direct Java evaluation of the same formula with the same weights.
 */
class SkeletonModelTest {
    private static final int H = 9;
    private static final int W = 7;

    @Test
    void onnxRuntimeAgreesWithAReferenceEvaluation() throws Exception {
        ModelProto model = SkeletonModel.build(42);
        SplittableRandom rnd = new SplittableRandom(7);
        float[] control = new float[3 * H * W];
        float[] noise = new float[3 * H * W];
        for (int i = 0; i < control.length; i++) {
            control[i] = (float) rnd.nextDouble();
            noise[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        float level = 0.6f;

        float[] actual;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(model.toByteArray(), new OrtSession.SessionOptions());
             OnnxTensor c = OnnxTensor.createTensor(env, FloatBuffer.wrap(control), new long[] {1, 3, H, W});
             OnnxTensor n = OnnxTensor.createTensor(env, FloatBuffer.wrap(noise), new long[] {1, 3, H, W});
             OnnxTensor l = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {level}), new long[] {1});
             OrtSession.Result r = session.run(Map.of(SkeletonModel.INPUT_CONTROL, c, SkeletonModel.INPUT_NOISE, n,
                     SkeletonModel.INPUT_NOISE_LEVEL, l))) {
            OnnxTensor out = (OnnxTensor) r.get(SkeletonModel.OUTPUT_IMAGE).orElseThrow();
            assertThat(out.getInfo().getShape()).containsExactly(1, 3, H, W);
            FloatBuffer fb = out.getFloatBuffer();
            actual = new float[fb.remaining()];
            fb.get(actual);
        }

        float[] expected = reference(model, control, noise, level);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("pixel value %d", i).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherWeights() {
        assertThat(SkeletonModel.build(1).toByteArray()).isEqualTo(SkeletonModel.build(1).toByteArray());
        assertThat(SkeletonModel.build(1).toByteArray()).isNotEqualTo(SkeletonModel.build(2).toByteArray());
    }

    /** Direct evaluation of the formula in {@link SkeletonModel}'s documentation. */
    private static float[] reference(ModelProto model, float[] control, float[] noise, float level) {
        Map<String, float[]> w = new HashMap<>();
        for (TensorProto t : model.getGraph().getInitializerList()) {
            FloatBuffer fb = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            float[] a = new float[fb.remaining()];
            fb.get(a);
            // constants are named after their role plus a counter: conv1.weight_3
            w.put(t.getName().replaceFirst("_\\d+$", ""), a);
        }
        int hw = H * W;
        float[] x = new float[6 * hw];
        System.arraycopy(control, 0, x, 0, 3 * hw);
        for (int i = 0; i < 3 * hw; i++) {
            x[3 * hw + i] = noise[i] * level;
        }
        float[] h = conv3x3(x, 6, SkeletonModel.HIDDEN, w.get("conv1.weight"), w.get("conv1.bias"));
        for (int i = 0; i < h.length; i++) {
            h[i] = (float) Math.tanh(h[i]);
        }
        float[] y = conv3x3(h, SkeletonModel.HIDDEN, 3, w.get("conv2.weight"), w.get("conv2.bias"));
        for (int i = 0; i < y.length; i++) {
            double v = y[i] + 4 * (control[i] - 0.5);
            y[i] = (float) (1 / (1 + Math.exp(-v)));
        }
        return y;
    }

    private static float[] conv3x3(float[] in, int cin, int cout, float[] weight, float[] bias) {
        float[] out = new float[cout * H * W];
        for (int o = 0; o < cout; o++) {
            for (int y = 0; y < H; y++) {
                for (int x = 0; x < W; x++) {
                    double s = bias[o];
                    for (int i = 0; i < cin; i++) {
                        for (int ky = 0; ky < 3; ky++) {
                            for (int kx = 0; kx < 3; kx++) {
                                int yy = y + ky - 1;
                                int xx = x + kx - 1;
                                if (yy >= 0 && yy < H && xx >= 0 && xx < W) {
                                    s += in[(i * H + yy) * W + xx] * weight[((o * cin + i) * 3 + ky) * 3 + kx];
                                }
                            }
                        }
                    }
                    out[(o * H + y) * W + x] = (float) s;
                }
            }
        }
        return out;
    }
}
