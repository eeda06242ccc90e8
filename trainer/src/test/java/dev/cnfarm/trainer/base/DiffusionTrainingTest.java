package dev.cnfarm.trainer.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.arch.UNet;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.models.weights.SafetensorsFile;
import dev.cnfarm.trainer.torch.Ort;
import dev.cnfarm.trainer.torch.ParameterStore;
import dev.cnfarm.trainer.torch.Torch;
import dev.cnfarm.trainer.torch.TorchNn;
import dev.cnfarm.trainer.train.StageRunner;
import dev.cnfarm.trainer.train.TrainingListener;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The text encoder + UNet stage at the tiny size: 20 steps lower the loss, two runs from one seed
 * give the same weights to the bit, a run stopped after a checkpoint and resumed gives the same
 * weights as one that ran through, and trained weights written as a trained model and built into a
 * bundle compute in ONNX Runtime what they compute in libtorch.
 */
class DiffusionTrainingTest {
    private static final ModelPreset TINY = ModelPreset.tiny();
    private static final int SIDE = 8;
    private static final int COUNT = 48;

    @TempDir
    Path dir;

    /** Latents with structure to learn (a per-image constant per channel) and captions naming it. */
    private record Data(float[][] latents, long[][] tokens, long[] empty) {}

    private static Data data() {
        SplittableRandom rnd = new SplittableRandom(3);
        float[][] latents = new float[COUNT][4 * SIDE * SIDE];
        long[][] tokens = new long[COUNT][77];
        for (int i = 0; i < COUNT; i++) {
            int kind = i % 4;
            for (int c = 0; c < 4; c++) {
                for (int p = 0; p < SIDE * SIDE; p++) {
                    latents[i][c * SIDE * SIDE + p] = (c == kind ? 1.5f : -0.5f) + (float) (0.1 * rnd.nextGaussian());
                }
            }
            Arrays.fill(tokens[i], 49407);
            tokens[i][0] = 49406;
            tokens[i][1] = 300 + kind;
        }
        long[] empty = new long[77];
        Arrays.fill(empty, 49407);
        empty[0] = 49406;
        return new Data(latents, tokens, empty);
    }

    private static DiffusionTraining.Settings settings() {
        return new DiffusionTraining.Settings(20, 8, 2e-3, 4, 0.1, 0.1, 5, 0.9, 42, 10);
    }

    private StageRunner.Result train(Path work, TrainingListener listener) {
        Data d = data();
        try (ParameterStore store = new ParameterStore(new RandomWeights(42, true))) {
            DiffusionTraining.materialise(store, TINY.unet(), TINY.textEncoder(), SIDE);
            return DiffusionTraining.train(store, TINY.unet(), TINY.textEncoder(), d.latents(), d.tokens(), d.empty(), SIDE, settings(),
                    work, listener);
        }
    }

    private static double mean(List<double[]> losses, int from, int to) {
        return losses.subList(from, to).stream().mapToDouble(l -> l[1]).average().orElseThrow();
    }

    @Test
    void twentyStepsLowerTheLossAndRepeatToTheBit() {
        StageRunner.Result a = train(dir.resolve("a"), TrainingListener.NONE);
        StageRunner.Result b = train(dir.resolve("b"), TrainingListener.NONE);
        assertThat(a.losses()).hasSize(20);
        assertThat(mean(a.losses(), 15, 20)).as("loss of the last 5 steps against the first 5").isLessThan(0.8 * mean(a.losses(), 0, 5));
        assertThat(a.weights().keySet()).isEqualTo(b.weights().keySet());
        for (String k : a.weights().keySet()) {
            assertThat(Arrays.equals(a.weights().get(k), b.weights().get(k))).as(k).isTrue();
        }
        assertThat(a.losses().stream().map(l -> l[1]).toList()).isEqualTo(b.losses().stream().map(l -> l[1]).toList());
    }

    @Test
    void aRunStoppedAfterACheckpointResumesToTheSameWeights() {
        StageRunner.Result through = train(dir.resolve("through"), TrainingListener.NONE);
        TrainingListener stopAt13 = new TrainingListener() {
            @Override
            public void step(String stage, long step, long total, double loss, double stepsPerSecond) {
                if (step == 13) {
                    throw new IllegalStateException("stopped");
                }
            }
        };
        assertThatThrownBy(() -> train(dir.resolve("stopped"), stopAt13)).hasMessage("stopped");
        // the checkpoint of step 10 is there; steps 11 to 13 are lost and done again
        StageRunner.Result resumed = train(dir.resolve("stopped"), TrainingListener.NONE);
        for (String k : through.weights().keySet()) {
            assertThat(Arrays.equals(through.weights().get(k), resumed.weights().get(k))).as(k).isTrue();
        }
        assertThat(resumed.losses()).hasSize(20);
    }

    @Test
    void trainedWeightsComputeTheSameInOnnxRuntimeAsInLibtorch() throws Exception {
        StageRunner.Result r = train(dir.resolve("w"), TrainingListener.NONE);
        Map<String, float[]> weights = new java.util.LinkedHashMap<>(r.weights());
        Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
        try (ParameterStore vae = new ParameterStore(new RandomWeights(5, true))) {
            VaeTraining.materialise(vae, TINY.vae());
            vae.specs().forEach(s -> weights.put(s.onnxName(), vae.values(s.onnxName())));
            vae.specs().forEach(s -> shapes.put(s.onnxName(), s.shape()));
        }
        try (ParameterStore store = new ParameterStore(spec -> weights.get(spec.onnxName()))) {
            DiffusionTraining.materialise(store, TINY.unet(), TINY.textEncoder(), SIDE);
            store.specs().forEach(s -> shapes.put(s.onnxName(), s.shape()));
        }
        Path tokenizer = dir.resolve("tok");
        ShapesPreset.vocabulary().write(tokenizer);
        Path model = dir.resolve("model");
        BaseTraining.exportModel(model, TINY, weights, shapes, tokenizer);
        var bundle = dev.cnfarm.models.bundle.TrainedModels.build(model, "trained-tiny", 0, dir.resolve("bundle"), "test");
        assertThat(bundle.manifest().dtype()).isEqualTo("fp16");

        // libtorch with the weights as the bundle stores them (fp16), against the bundle's UNet in ONNX Runtime
        Map<String, float[]> stored = new java.util.HashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(model.resolve("unet.safetensors"))) {
            f.tensors().keySet().forEach(k -> stored.put(ModelGraphs.UNET + "." + k, f.readFloats(k)));
        }
        SplittableRandom rnd = new SplittableRandom(9);
        int d = TINY.unet().crossAttentionDim();
        float[] sample = new float[2 * 4 * SIDE * SIDE];
        float[] context = new float[2 * 77 * d];
        for (int i = 0; i < sample.length; i++) {
            sample[i] = (float) rnd.nextGaussian();
        }
        for (int i = 0; i < context.length; i++) {
            context[i] = (float) rnd.nextGaussian();
        }
        float[] t = {250f};
        float[] onnx;
        try (ai.onnxruntime.OrtSession s = ai.onnxruntime.OrtEnvironment.getEnvironment().createSession(bundle.graph("unet").toString());
             var in1 = ai.onnxruntime.OnnxTensor.createTensor(ai.onnxruntime.OrtEnvironment.getEnvironment(), java.nio.FloatBuffer.wrap(sample), new long[] {2, 4, SIDE, SIDE});
             var in2 = ai.onnxruntime.OnnxTensor.createTensor(ai.onnxruntime.OrtEnvironment.getEnvironment(), java.nio.FloatBuffer.wrap(t), new long[] {1});
             var in3 = ai.onnxruntime.OnnxTensor.createTensor(ai.onnxruntime.OrtEnvironment.getEnvironment(), java.nio.FloatBuffer.wrap(context), new long[] {2, 77, d});
             var res = s.run(Map.of(ModelGraphs.SAMPLE, in1, ModelGraphs.TIMESTEP, in2, ModelGraphs.CONTEXT, in3))) {
            java.nio.FloatBuffer fb = ((ai.onnxruntime.OnnxTensor) res.get(0)).getFloatBuffer();
            onnx = new float[fb.remaining()];
            fb.get(onnx);
        }
        try (ParameterStore store = new ParameterStore(spec -> stored.get(spec.onnxName()));
             PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor out = UNet.forward(new TorchNn(store), ModelGraphs.UNET, Torch.floats(sample, 2, 4, SIDE, SIDE), Torch.floats(t, 1),
                    Torch.floats(context, 2, 77, d), TINY.unet(), null, null);
            assertThat(Ort.relativeError(Torch.toFloats(out), onnx)).isLessThan(1e-4);
        }
        // and the trained weights differ from where they started, so this compared trained weights
        try (ParameterStore fresh = new ParameterStore(new RandomWeights(42, true))) {
            DiffusionTraining.materialise(fresh, TINY.unet(), TINY.textEncoder(), SIDE);
            assertThat(fresh.values("unet.conv_in.weight")).isNotEqualTo(weights.get("unet.conv_in.weight"));
        }
    }
}
