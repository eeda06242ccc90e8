package dev.cnfarm.models.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.arch.RefSize;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.onnx.ParamWriters;
import java.io.ByteArrayOutputStream;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Trained weights bind to the tiny UNet by name. The weights file is assembled byte by byte here
 * (not with our writer), holding the values of another random seed: a graph built from the file
 * must compute what a graph built from that seed computes, and not what the default weights do.
 */
class SafetensorsBindingTest {
    private static final ModelPreset TINY = ModelPreset.tiny();
    private static final RefSize REF = new RefSize(1, 8, 8);

    @TempDir
    Path dir;

    /** The tiny UNet's parameters with values from {@code source}, as a safetensors file in F32. */
    private Path unetFile(List<ParamSpec> params, WeightSource source, String skipKey, String reshapeKey, String extraKey) throws Exception {
        StringBuilder header = new StringBuilder("{");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        long offset = 0;
        for (ParamSpec p : params) {
            if (p.key().equals(skipKey)) {
                continue;
            }
            float[] v = source.values(p);
            String shape = java.util.Arrays.toString(p.key().equals(reshapeKey) ? new long[] {p.count()} : p.shape()).replace(" ", "");
            header.append(header.length() > 1 ? "," : "").append('"').append(p.key()).append("\":{\"dtype\":\"F32\",\"shape\":")
                    .append(shape).append(",\"data_offsets\":[").append(offset).append(',').append(offset + 4L * v.length).append("]}");
            data.write(SafetensorsFileTest.f32(v));
            offset += 4L * v.length;
        }
        if (extraKey != null) {
            header.append(",\"").append(extraKey).append("\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[")
                    .append(offset).append(',').append(offset + 4).append("]}");
            data.write(SafetensorsFileTest.f32(0));
        }
        header.append('}');
        Path p = dir.resolve("unet-" + System.nanoTime() + ".safetensors");
        Files.write(p, SafetensorsFileTest.file(header.toString(), data.toByteArray()));
        assertThat(header.toString().getBytes(StandardCharsets.UTF_8).length).isPositive();
        return p;
    }

    private static float[] run(GraphBuilder g, WeightSource w) throws Exception {
        byte[] model = g.build(ParamWriters.inline(w, g.storage()), "t", Map.of()).toByteArray();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        SplittableRandom rnd = new SplittableRandom(3);
        float[] sample = new float[4 * 64];
        float[] ctx = new float[77 * 32];
        for (int i = 0; i < sample.length; i++) {
            sample[i] = (float) rnd.nextGaussian();
        }
        for (int i = 0; i < ctx.length; i++) {
            ctx[i] = (float) rnd.nextGaussian();
        }
        try (OrtSession s = env.createSession(model, new OrtSession.SessionOptions());
             OnnxTensor a = OnnxTensor.createTensor(env, FloatBuffer.wrap(sample), new long[] {1, 4, 8, 8});
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {321f}), new long[] {1});
             OnnxTensor c = OnnxTensor.createTensor(env, FloatBuffer.wrap(ctx), new long[] {1, 77, 32});
             OrtSession.Result r = s.run(Map.of(ModelGraphs.SAMPLE, a, ModelGraphs.TIMESTEP, t, ModelGraphs.CONTEXT, c))) {
            FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    @Test
    void weightsFromTheFileReplaceTheDefaults() throws Exception {
        GraphBuilder g = ModelGraphs.plainUNet(TINY, GraphBuilder.Storage.FP32, REF);
        WeightSource trained = new RandomWeights(99, true);
        WeightSource defaults = new RandomWeights(1, true);
        Path file = unetFile(g.params(), trained, null, null, null);
        try (SafetensorsWeights st = new SafetensorsWeights(Map.of("unet", SafetensorsFile.open(file)))) {
            assertThat(st.bind(g.params())).containsExactly("unet");
            float[] fromFile = run(g, st.orElse(defaults));
            assertThat(fromFile).isEqualTo(run(g, trained));
            assertThat(fromFile).isNotEqualTo(run(g, defaults));
        }
    }

    @Test
    void missingMisShapedAndExtraTensorsAreNamed() throws Exception {
        GraphBuilder g = ModelGraphs.plainUNet(TINY, GraphBuilder.Storage.FP32, REF);
        WeightSource w = new RandomWeights(5, true);
        String missing = "down_blocks.0.resnets.0.conv1.weight";
        String reshaped = "conv_in.weight";
        Path file = unetFile(g.params(), w, missing, reshaped, "some_other_model.layer.weight");
        try (SafetensorsWeights st = new SafetensorsWeights(Map.of("unet", SafetensorsFile.open(file)))) {
            assertThatThrownBy(() -> st.bind(g.params()))
                    .isInstanceOf(SafetensorsException.class)
                    .hasMessageContaining("3 problems")
                    .hasMessageContaining("'" + missing + "' [32, 32, 3, 3] is missing")
                    .hasMessageContaining("1 missing tensors")
                    .hasMessageContaining("'" + reshaped + "' has shape [1152], the model needs [32, 4, 3, 3]")
                    .hasMessageContaining("'some_other_model.layer.weight'")
                    .hasMessageContaining("not a parameter of this model");
        }
    }

    @Test
    void weightsForAComponentTheModelLacksAreRefused() throws Exception {
        GraphBuilder g = ModelGraphs.plainUNet(TINY, GraphBuilder.Storage.FP32, REF);
        Path file = unetFile(g.params(), new RandomWeights(5, true), null, null, null);
        try (SafetensorsWeights st = new SafetensorsWeights(Map.of("controlnet0", SafetensorsFile.open(file)))) {
            assertThatThrownBy(() -> st.bind(g.params())).hasMessageContaining("controlnet0");
        }
    }
}
