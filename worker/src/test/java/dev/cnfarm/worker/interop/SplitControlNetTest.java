package dev.cnfarm.worker.interop;

import static dev.cnfarm.worker.testing.FloatArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.GeneratedBundles;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.interop.ControlNetMerge;
import dev.cnfarm.models.interop.DiffusersOnnxModel;
import dev.cnfarm.models.interop.LayoutException;
import dev.cnfarm.models.interop.OnnxGraphs;
import dev.cnfarm.models.interop.SplitControlNet;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.weights.RandomWeights;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The split ControlNet form (a ControlNet graph and a UNet taking its residuals) and the graph
 * {@code farm models merge} builds from it give the same noise prediction, and so does the farm's
 * own merged graph built from the same weights (the merged graph takes the same control inputs).
 */
class SplitControlNetTest {
    private static final float SCALE = 0.7f;

    @TempDir
    Path dir;

    @Test
    void splitPairMergedGraphAndBundleGraphPredictTheSameNoise() throws Exception {
        RandomWeights weights = new RandomWeights(GeneratedBundles.SEED, false);
        SplitControlNet.build(dir.resolve("split"), ModelPreset.tiny(), weights, Storage.FP32, false);
        Path cnFile = dir.resolve("split").resolve(SplitControlNet.CONTROLNET_FILE);
        Path unetFile = dir.resolve("split").resolve(SplitControlNet.UNET_FILE);
        Path merged = ControlNetMerge.mergeFiles(cnFile, unetFile, dir.resolve("merged/model.onnx"));
        ModelBundle bundle = GeneratedBundles.tiny(dir.resolve("models")); // the same seed, zero convolutions random alike

        int d = Integer.parseInt(OnnxGraphs.inputs(OnnxGraphs.read(unetFile)).stream().filter(i -> i.name().equals("encoder_hidden_states"))
                .findFirst().orElseThrow().dims().get(2));
        int batch = 2;
        int side = 64;
        int latent = side / 8;
        Random r = new Random(5);
        float[] sample = random(r, batch * 4 * latent * latent);
        float[] context = random(r, batch * 77 * d);
        float[] image = new float[batch * 3 * side * side];
        for (int i = 0; i < image.length; i++) {
            image[i] = r.nextFloat();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[] split;
        float[] oneGraph;
        float[] bundleGraph;
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions();
             OnnxTensor s = OnnxTensor.createTensor(env, FloatBuffer.wrap(sample), new long[] {batch, 4, latent, latent});
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {421f}), new long[] {1});
             OnnxTensor c = OnnxTensor.createTensor(env, FloatBuffer.wrap(context), new long[] {batch, 77, d});
             OnnxTensor img = OnnxTensor.createTensor(env, FloatBuffer.wrap(image), new long[] {batch, 3, side, side})) {
            // 1. split: the ControlNet's residuals come back to the host, are scaled, and go into the UNet
            Map<String, OnnxTensor> residuals = new HashMap<>();
            try (OrtSession cn = env.createSession(cnFile.toString(), o);
                 OrtSession.Result res = cn.run(Map.of("sample", s, "timestep", t, "encoder_hidden_states", c, "controlnet_cond", img))) {
                for (String name : DiffusersOnnxModel.residualsAmong(cn.getOutputNames())) {
                    OnnxTensor v = (OnnxTensor) res.get(name).orElseThrow();
                    float[] x = read(v);
                    for (int i = 0; i < x.length; i++) {
                        x[i] *= SCALE;
                    }
                    residuals.put(name, OnnxTensor.createTensor(env, FloatBuffer.wrap(x), v.getInfo().getShape()));
                }
            }
            try (OrtSession unet = env.createSession(unetFile.toString(), o)) {
                Map<String, OnnxTensor> in = new HashMap<>(residuals);
                in.put("sample", s);
                in.put("timestep", t);
                in.put("encoder_hidden_states", c);
                try (OrtSession.Result out = unet.run(in)) {
                    split = read((OnnxTensor) out.get(0));
                }
            } finally {
                residuals.values().forEach(OnnxTensor::close);
            }
            // 2. the merged graph, and 3. the bundle's own controlled graph, both with every residual scale at SCALE
            int perNet = DiffusersOnnxModel.residualsAmong(OnnxGraphs.outputs(OnnxGraphs.read(cnFile)).stream()
                    .map(dev.cnfarm.models.interop.GraphIo::name).toList()).size();
            float[] scales = new float[batch * perNet];
            java.util.Arrays.fill(scales, SCALE);
            try (OnnxTensor imgs = OnnxTensor.createTensor(env, FloatBuffer.wrap(image), new long[] {1, batch, 3, side, side});
                 OnnxTensor sc = OnnxTensor.createTensor(env, FloatBuffer.wrap(scales), new long[] {1, batch, perNet});
                 OrtSession m = env.createSession(merged.toString(), o);
                 OrtSession b = env.createSession(bundle.graph(BundleBuilder.CONTROLLED_UNET).toString(), o)) {
                Map<String, OnnxTensor> in = Map.of("sample", s, "timestep", t, "encoder_hidden_states", c, "controlnet_images", imgs,
                        "controlnet_scales", sc);
                try (OrtSession.Result out = m.run(in)) {
                    oneGraph = read((OnnxTensor) out.get(0));
                }
                try (OrtSession.Result out = b.run(in)) {
                    bundleGraph = read((OnnxTensor) out.get(0));
                }
            }
        }
        assertThat(split).hasSize(batch * 4 * latent * latent);
        assertThat(maxAbsDiff(split, oneGraph)).as("split pair against the merged graph").isLessThanOrEqualTo(1e-5);
        assertThat(maxAbsDiff(split, bundleGraph)).as("split pair against the bundle's controlled graph").isLessThanOrEqualTo(1e-5);
        // and ControlNet does change the prediction (a test of equal zeros would prove nothing)
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions();
             OrtSession plain = env.createSession(bundle.graph(BundleBuilder.UNET).toString(), o);
             OnnxTensor s = OnnxTensor.createTensor(env, FloatBuffer.wrap(sample), new long[] {batch, 4, latent, latent});
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {421f}), new long[] {1});
             OnnxTensor c = OnnxTensor.createTensor(env, FloatBuffer.wrap(context), new long[] {batch, 77, d});
             OrtSession.Result out = plain.run(Map.of("sample", s, "timestep", t, "encoder_hidden_states", c))) {
            assertThat(maxAbsDiff(split, read((OnnxTensor) out.get(0)))).isGreaterThan(1e-3);
        }
    }

    @Test
    void graphsThatAreNotASplitPairAreRefusedNamingTheFileAndTheTensor() {
        ModelBundle bundle = GeneratedBundles.tiny(dir.resolve("models"));
        Path plain = bundle.graph(BundleBuilder.UNET);
        assertThatThrownBy(() -> ControlNetMerge.mergeFiles(plain, plain, dir.resolve("x/model.onnx")))
                .isInstanceOf(LayoutException.class).hasMessageContaining(plain.toString())
                .hasMessageContaining("down_block_0_additional_residual");
        SplitControlNet.build(dir.resolve("split"), ModelPreset.tiny(), new RandomWeights(1, false), Storage.FP32, false);
        Path cn = dir.resolve("split").resolve(SplitControlNet.CONTROLNET_FILE);
        assertThatThrownBy(() -> ControlNetMerge.mergeFiles(cn, plain, dir.resolve("y/model.onnx")))
                .isInstanceOf(LayoutException.class).hasMessageContaining(plain.toString()).hasMessageContaining("no input 'down_block_0");
        assertThat(dir.resolve("x/model.onnx")).doesNotExist();
    }

    private static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    private static float[] read(OnnxTensor t) {
        FloatBuffer fb = t.getFloatBuffer();
        float[] out = new float[fb.remaining()];
        fb.get(out);
        return out;
    }
}
