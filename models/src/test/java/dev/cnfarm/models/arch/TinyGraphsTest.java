package dev.cnfarm.models.arch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.models.arch.OrtHarness.Input;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.onnx.ParamWriters;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.models.weights.WeightSource;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Every graph of the tiny preset loads and runs in ONNX Runtime (CPU), at a size other than its
 * reference size (the dimensions are dynamic), and gives finite outputs of the right shape. The
 * central property of the paper's construction is checked here too.
 */
class TinyGraphsTest {
    private static final ModelPreset TINY = ModelPreset.tiny();
    private static final RefSize REF = new RefSize(2, 8, 8);
    private final SplittableRandom rnd = new SplittableRandom(42);

    private static byte[] model(GraphBuilder g, WeightSource w) {
        return g.build(ParamWriters.inline(w, g.storage()), "test", Map.of()).toByteArray();
    }

    /** sample [b,4,h,w], timestep [1], context [b,77,32] at a 16x24 latent (128x192 image). */
    private Map<String, Input> unetInputs(int b, int h, int w) {
        int d = TINY.unet().crossAttentionDim();
        return Map.of(
                ModelGraphs.SAMPLE, Input.floats(new long[] {b, 4, h, w}, OrtHarness.random(rnd, b * 4 * h * w, -1, 1)),
                ModelGraphs.TIMESTEP, Input.floats(new long[] {1}, new float[] {500f}),
                ModelGraphs.CONTEXT, Input.floats(new long[] {b, 77, d}, OrtHarness.random(rnd, b * 77 * d, -1, 1)));
    }

    @Test
    void plainUNetRunsAtAnyMultipleOfItsSize() throws Exception {
        byte[] m = model(ModelGraphs.plainUNet(TINY, Storage.FP32, REF), new RandomWeights(1, true));
        try (OrtHarness ort = new OrtHarness(m)) {
            float[] out = ort.run(unetInputs(2, 16, 24)).get(ModelGraphs.NOISE_PRED);
            assertThat(out).hasSize(2 * 4 * 16 * 24);
            assertFinite(out);
        }
    }

    @Test
    void anySizeDivisibleBy8Works() throws Exception {
        // a 10x6 latent (80x48 image): the encoder rounds 10 -> 5 -> 3 and the decoder resizes back to each skip
        byte[] m = model(ModelGraphs.controlledUNet(TINY, 1, Storage.FP32, REF), new RandomWeights(1, false));
        int residuals = UNet.residualCount(TINY.unet()) + 1;
        Map<String, Input> in = new java.util.HashMap<>(unetInputs(1, 10, 6));
        in.put(ModelGraphs.CONTROL_IMAGES, Input.floats(new long[] {1, 1, 3, 80, 48}, OrtHarness.random(rnd, 3 * 80 * 48, 0, 1)));
        float[] ones = new float[residuals];
        java.util.Arrays.fill(ones, 1f);
        in.put(ModelGraphs.CONTROL_SCALES, Input.floats(new long[] {1, 1, residuals}, ones));
        try (OrtHarness ort = new OrtHarness(m)) {
            float[] out = ort.run(in).get(ModelGraphs.NOISE_PRED);
            assertThat(out).hasSize(4 * 10 * 6);
            assertFinite(out);
        }
    }

    @Test
    void controlledUNetWithZeroConvolutionsAtZeroEqualsThePlainUNet() throws Exception {
        int b = 2;
        int h = 16;
        int w = 16;
        Map<String, Input> base = unetInputs(b, h, w);
        WeightSource paperInit = new RandomWeights(7, true);
        float[] plain;
        try (OrtHarness ort = new OrtHarness(model(ModelGraphs.plainUNet(TINY, Storage.FP32, REF), paperInit))) {
            plain = ort.run(base).get(ModelGraphs.NOISE_PRED);
        }
        int residuals = UNet.residualCount(TINY.unet()) + 1;
        java.util.Map<String, Input> controlled = new java.util.HashMap<>(base);
        controlled.put(ModelGraphs.CONTROL_IMAGES, Input.floats(new long[] {1, b, 3, 8 * h, 8 * w},
                OrtHarness.random(rnd, b * 3 * 64 * h * w, 0, 1)));
        float[] ones = new float[b * residuals];
        java.util.Arrays.fill(ones, 1f);
        controlled.put(ModelGraphs.CONTROL_SCALES, Input.floats(new long[] {1, b, residuals}, ones));

        byte[] cn = model(ModelGraphs.controlledUNet(TINY, 1, Storage.FP32, REF), paperInit);
        try (OrtHarness ort = new OrtHarness(cn)) {
            float[] out = ort.run(controlled).get(ModelGraphs.NOISE_PRED);
            assertThat(maxAbsDiff(out, plain)).as("zero convolutions at zero: ControlNet adds exactly nothing").isLessThanOrEqualTo(1e-6);
        }
        byte[] trained = model(ModelGraphs.controlledUNet(TINY, 1, Storage.FP32, REF), new RandomWeights(7, false));
        try (OrtHarness ort = new OrtHarness(trained)) {
            float[] out = ort.run(controlled).get(ModelGraphs.NOISE_PRED);
            assertThat(maxAbsDiff(out, plain)).as("non-zero zero convolutions change the output").isGreaterThan(1e-3);
            java.util.Arrays.fill(ones, 0f);
            float[] scaledOff = ort.run(controlled).get(ModelGraphs.NOISE_PRED);
            assertThat(maxAbsDiff(scaledOff, plain)).as("control scale 0 gives the plain UNet").isLessThanOrEqualTo(1e-6);
        }
    }

    @Test
    void twoControlNetsRunInOneGraph() throws Exception {
        int b = 2;
        int h = 8;
        int w = 8;
        Map<String, Input> in = new java.util.HashMap<>(unetInputs(b, h, w));
        int residuals = UNet.residualCount(TINY.unet()) + 1;
        in.put(ModelGraphs.CONTROL_IMAGES, Input.floats(new long[] {2, b, 3, 8 * h, 8 * w}, OrtHarness.random(rnd, 2 * b * 3 * 64 * h * w, 0, 1)));
        in.put(ModelGraphs.CONTROL_SCALES, Input.floats(new long[] {2, b, residuals}, OrtHarness.random(rnd, 2 * b * residuals, 0, 1)));
        try (OrtHarness ort = new OrtHarness(model(ModelGraphs.controlledUNet(TINY, 2, Storage.FP32, REF), new RandomWeights(3, false)))) {
            float[] out = ort.run(in).get(ModelGraphs.NOISE_PRED);
            assertThat(out).hasSize(b * 4 * h * w);
            assertFinite(out);
        }
    }

    @Test
    void standaloneControlNetGivesTheResidualsInSkipOrder() throws Exception {
        int b = 1;
        Map<String, Input> in = new java.util.HashMap<>(unetInputs(b, 8, 8));
        in.put(ModelGraphs.CONTROL_IMAGE, Input.floats(new long[] {b, 3, 64, 64}, OrtHarness.random(rnd, 3 * 64 * 64, 0, 1)));
        try (OrtHarness ort = new OrtHarness(model(ModelGraphs.controlNet(TINY, Storage.FP32, REF), new RandomWeights(3, false)))) {
            Map<String, float[]> out = ort.run(in);
            assertThat(out).containsKeys(ModelGraphs.downResidualName(0), ModelGraphs.MID_RESIDUAL);
            assertThat(out.get(ModelGraphs.downResidualName(0))).hasSize(32 * 8 * 8);
            assertThat(out.get(ModelGraphs.MID_RESIDUAL)).hasSize(64 * 2 * 2);
        }
    }

    @Test
    void textEncoderGivesHiddenStatesAndPooledOutput() throws Exception {
        long[] ids = new long[2 * 77];
        java.util.Arrays.fill(ids, 49407);
        ids[0] = 49406;
        ids[1] = 320;
        ids[77] = 49406;
        try (OrtHarness ort = new OrtHarness(model(ModelGraphs.textEncoder(TINY, Storage.FP32, 2), new RandomWeights(5, true)))) {
            Map<String, float[]> out = ort.run(Map.of(ModelGraphs.INPUT_IDS, Input.longs(new long[] {2, 77}, ids)));
            float[] last = out.get(ModelGraphs.LAST_HIDDEN);
            float[] pooled = out.get(ModelGraphs.POOLED);
            assertThat(last).hasSize(2 * 77 * 32);
            assertThat(pooled).hasSize(2 * 32);
            // pooled = hidden state at the first end-of-text token: position 2 in row 0, position 1 in row 1
            for (int c = 0; c < 32; c++) {
                assertThat(pooled[c]).isEqualTo(last[2 * 32 + c]);
                assertThat(pooled[32 + c]).isEqualTo(last[77 * 32 + 32 + c]);
            }
        }
    }

    @Test
    void vaeDecoderAndEncoderRoundTheSizes() throws Exception {
        try (OrtHarness ort = new OrtHarness(model(ModelGraphs.vaeDecoder(TINY, Storage.FP32, REF), new RandomWeights(9, true)))) {
            float[] img = ort.run(Map.of(ModelGraphs.LATENT_SAMPLE, Input.floats(new long[] {1, 4, 8, 6},
                    OrtHarness.random(rnd, 4 * 48, -1, 1)))).get(ModelGraphs.SAMPLE);
            assertThat(img).hasSize(3 * 64 * 48);
            assertFinite(img);
        }
        try (OrtHarness ort = new OrtHarness(model(ModelGraphs.vaeEncoder(TINY, Storage.FP32, REF), new RandomWeights(9, true)))) {
            float[] lat = ort.run(Map.of(ModelGraphs.SAMPLE, Input.floats(new long[] {1, 3, 64, 48},
                    OrtHarness.random(rnd, 3 * 64 * 48, -1, 1)))).get(ModelGraphs.LATENT_MEAN);
            assertThat(lat).hasSize(4 * 8 * 6);
            assertFinite(lat);
        }
    }

    @Test
    void fp16StorageRunsAndStaysCloseToFp32() throws Exception {
        Map<String, Input> in = unetInputs(1, 8, 8);
        float[] a;
        float[] b;
        try (OrtHarness ort = new OrtHarness(model(ModelGraphs.plainUNet(TINY, Storage.FP32, REF), new RandomWeights(11, true)))) {
            a = ort.run(in).get(ModelGraphs.NOISE_PRED);
        }
        try (OrtHarness ort = new OrtHarness(model(ModelGraphs.plainUNet(TINY, Storage.FP16, REF), new RandomWeights(11, true)))) {
            b = ort.run(in).get(ModelGraphs.NOISE_PRED);
        }
        assertThat(maxAbsDiff(a, b)).isGreaterThan(0).isLessThan(0.05);
    }

    static double maxAbsDiff(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    static void assertFinite(float[] a) {
        for (float v : a) {
            assertThat(Float.isFinite(v)).as("all values finite").isTrue();
        }
    }
}
