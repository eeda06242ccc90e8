package dev.cnfarm.models.bundle;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.weights.RandomWeights;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BundleBuilderTest {
    @TempDir
    Path dir;

    private ModelBundle build(String id, Boolean external, Storage dtype) {
        return BundleBuilder.build(dir.resolve(id), new BundleBuilder.Options(id, ModelPreset.tiny(), 1, dtype, external),
                new RandomWeights(12, false), "random, seed 12", (done, total, graph) -> { });
    }

    @Test
    void tinyBundleHasEveryGraphWithItsInputsAndOutputs() {
        ModelBundle b = build("tiny", null, Storage.FP32);
        BundleManifest m = b.manifest();
        assertThat(m.preset()).isEqualTo("tiny");
        assertThat(m.controlnets()).isEqualTo(1);
        assertThat(m.graphs()).containsOnlyKeys("text_encoder", "unet", "controlled_unet", "vae_decoder", "vae_encoder");
        assertThat(m.graphs().get("controlled_unet").inputs()).extracting(BundleManifest.TensorSpec::name)
                .containsExactly("sample", "timestep", "encoder_hidden_states", "controlnet_images", "controlnet_scales");
        assertThat(m.graphs().get("text_encoder").inputs().get(0).dtype()).isEqualTo("int64");
        assertThat(m.files()).extracting(BundleFile::path).contains("unet.onnx", "controlled_unet.onnx")
                .noneMatch(p -> p.endsWith(".weights"));
        // what was written reads back the same (compared as JSON: numbers in configs come back as doubles)
        var json = dev.cnfarm.common.json.Json.mapper();
        assertThat(json.valueToTree(ModelBundle.open(b.dir()).verifyAll().manifest()).toString()).isEqualTo(json.valueToTree(m).toString());
        assertThat(m.configs()).containsKeys("unet", "controlnet", "text_encoder", "vae");
    }

    @Test
    void externalDataGivesTheSameModelAsInlineAndSharesTheUNetWeights() throws Exception {
        ModelBundle inline = build("inline", false, Storage.FP32);
        ModelBundle external = build("external", true, Storage.FP32);
        assertThat(external.manifest().files()).extracting(BundleFile::path)
                .contains("unet.weights", "controlnet0.weights", "text_encoder.weights", "vae.weights");
        long unetOnnx = Files.size(external.graph("unet"));
        assertThat(unetOnnx).as("the graph file holds no weights").isLessThan(Files.size(inline.graph("unet")) / 4);
        assertThat(run(external.graph("controlled_unet"))).isEqualTo(run(inline.graph("controlled_unet")));
        // the UNet's weights are written once, for both UNet graphs
        long unetWeights = external.manifest().files().stream().filter(f -> f.path().equals("unet.weights")).findFirst().orElseThrow().sizeBytes();
        long unetParams = dev.cnfarm.models.arch.ModelGraphs.plainUNet(ModelPreset.tiny(), Storage.FP32,
                BundleBuilder.referenceSize(ModelPreset.tiny())).paramCount();
        assertThat(unetWeights).isBetween(4 * unetParams, 4 * unetParams + 64L * 1000);
    }

    @Test
    void fp16BundleStoresHalfTheBytesAndRuns() throws Exception {
        ModelBundle fp32 = build("fp32", true, Storage.FP32);
        ModelBundle fp16 = build("fp16", true, Storage.FP16);
        assertThat(fp16.totalBytes()).isLessThan(fp32.totalBytes() * 6 / 10);
        float[] a = run(fp32.graph("controlled_unet"));
        float[] b = run(fp16.graph("controlled_unet"));
        double maxDiff = 0;
        for (int i = 0; i < a.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        }
        assertThat(maxDiff).isLessThan(0.05);
        assertThat(fp16.manifest().dtype()).isEqualTo("fp16");
    }

    @Test
    void generatedTinyBundleIsBuiltOnceThenOpened() throws Exception {
        ModelBundle first = GeneratedBundles.tiny(dir);
        long mtime = Files.getLastModifiedTime(first.graph("unet")).toMillis();
        ModelBundle second = GeneratedBundles.tiny(dir);
        assertThat(Files.getLastModifiedTime(second.graph("unet")).toMillis()).isEqualTo(mtime);
        assertThat(second.manifest().files()).isEqualTo(first.manifest().files());
    }

    @Test
    void describeCountsWhatTheBundleHolds() {
        ModelDescription.Description d = ModelDescription.describe(ModelPreset.tiny(), 1, 2, 64, 64);
        ModelDescription.GraphStats controlled = d.graphs().stream().filter(g -> g.role().equals("controlled_unet")).findFirst().orElseThrow();
        ModelDescription.GraphStats unet = d.graphs().stream().filter(g -> g.role().equals("unet")).findFirst().orElseThrow();
        ModelDescription.GraphStats cn = d.graphs().stream().filter(g -> g.role().equals("controlnet")).findFirst().orElseThrow();
        assertThat(controlled.params()).isEqualTo(unet.params() + cn.params());
        assertThat(controlled.paramsByComponent()).containsOnlyKeys("unet", "controlnet0");
        assertThat(controlled.macs()).isGreaterThan(unet.macs()).isLessThan(unet.macs() + cn.macs() + unet.macs() / 10);
        assertThat(controlled.operators()).containsKeys("Conv", "MatMul", "Softmax", "InstanceNormalization");
    }

    private static float[] run(Path model) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        SplittableRandom rnd = new SplittableRandom(1);
        List<OnnxTensor> held = new ArrayList<>();
        try (OrtSession s = env.createSession(model.toString(), new OrtSession.SessionOptions())) {
            OnnxTensor sample = OnnxTensor.createTensor(env, FloatBuffer.wrap(gauss(rnd, 2 * 4 * 8 * 8)), new long[] {2, 4, 8, 8});
            OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {700}), new long[] {1});
            OnnxTensor ctx = OnnxTensor.createTensor(env, FloatBuffer.wrap(gauss(rnd, 2 * 77 * 32)), new long[] {2, 77, 32});
            OnnxTensor img = OnnxTensor.createTensor(env, FloatBuffer.wrap(gauss(rnd, 2 * 3 * 64 * 64)), new long[] {1, 2, 3, 64, 64});
            float[] ones = new float[2 * 7];
            java.util.Arrays.fill(ones, 1f);
            OnnxTensor scales = OnnxTensor.createTensor(env, FloatBuffer.wrap(ones), new long[] {1, 2, 7});
            held.addAll(List.of(sample, t, ctx, img, scales));
            try (OrtSession.Result r = s.run(Map.of(ModelGraphs.SAMPLE, sample, ModelGraphs.TIMESTEP, t, ModelGraphs.CONTEXT, ctx,
                    ModelGraphs.CONTROL_IMAGES, img, ModelGraphs.CONTROL_SCALES, scales))) {
                FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
                float[] out = new float[fb.remaining()];
                fb.get(out);
                return out;
            }
        } finally {
            held.forEach(OnnxTensor::close);
        }
    }

    private static float[] gauss(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }
}
