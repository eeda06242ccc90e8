package dev.cnfarm.trainer.torch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.models.arch.ClipText;
import dev.cnfarm.models.arch.ControlNet;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.arch.RefSize;
import dev.cnfarm.models.arch.UNet;
import dev.cnfarm.models.arch.Vae;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.models.weights.WeightSource;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/**
 * One architecture description, two backends: with the same random weights and inputs, each
 * component computed by libtorch ({@link TorchNn}) agrees with its ONNX graph in ONNX Runtime within
 * 1e-4 of the output's scale (fp32, the tiny preset), and both create exactly the same parameters.
 */
class ArchitectureParityTest {
    private static final ModelPreset TINY = ModelPreset.tiny();
    private static final RefSize REF = new RefSize(2, 8, 8);
    private static final double TOLERANCE = 1e-4;
    /** Random zero convolutions, so the ControlNet's residuals are not all zero. */
    private static final WeightSource WEIGHTS = new RandomWeights(7, false);
    private final SplittableRandom rnd = new SplittableRandom(11);

    private float[] random(int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
        }
        return a;
    }

    /** Name, shape and initialisation of each parameter. */
    private static java.util.List<String> names(java.util.List<dev.cnfarm.models.onnx.ParamSpec> specs) {
        return specs.stream().map(s -> s.onnxName() + java.util.Arrays.toString(s.shape()) + s.init()).toList();
    }

    @Test
    void unetAgrees() throws Exception {
        int b = 2;
        int h = 8;
        int w = 16;
        int d = TINY.unet().crossAttentionDim();
        float[] sample = random(b * 4 * h * w, -1, 1);
        float[] context = random(b * 77 * d, -1, 1);
        float[] t = {421.5f};
        float[] onnx;
        try (Ort ort = new Ort(ModelGraphs.plainUNet(TINY, Storage.FP32, REF), WEIGHTS)) {
            onnx = ort.run(Map.of(ModelGraphs.SAMPLE, new Ort.In(new long[] {b, 4, h, w}, sample),
                    ModelGraphs.TIMESTEP, new Ort.In(new long[] {1}, t),
                    ModelGraphs.CONTEXT, new Ort.In(new long[] {b, 77, d}, context))).get(ModelGraphs.NOISE_PRED);
        }
        try (ParameterStore store = new ParameterStore(WEIGHTS); PointerScope scope = new PointerScope()) {
            TorchNn nn = new TorchNn(store);
            Tensor out = UNet.forward(nn, ModelGraphs.UNET, Torch.floats(sample, b, 4, h, w), Torch.floats(t, 1),
                    Torch.floats(context, b, 77, d), TINY.unet(), null, null);
            assertThat(Ort.relativeError(Torch.toFloats(out), onnx)).isLessThan(TOLERANCE);
            assertThat(names(store.specs())).containsExactlyInAnyOrderElementsOf(
                    names(ModelGraphs.plainUNet(TINY, Storage.FP32, REF).params()));
        }
    }

    @Test
    void controlNetAgrees() throws Exception {
        int b = 1;
        int h = 8;
        int w = 8;
        int d = TINY.unet().crossAttentionDim();
        float[] sample = random(b * 4 * h * w, -1, 1);
        float[] context = random(b * 77 * d, -1, 1);
        float[] image = random(b * 3 * 8 * h * 8 * w, 0, 1);
        float[] t = {37f};
        Map<String, float[]> onnx;
        try (Ort ort = new Ort(ModelGraphs.controlNet(TINY, Storage.FP32, REF), WEIGHTS)) {
            onnx = ort.run(Map.of(ModelGraphs.SAMPLE, new Ort.In(new long[] {b, 4, h, w}, sample),
                    ModelGraphs.TIMESTEP, new Ort.In(new long[] {1}, t),
                    ModelGraphs.CONTEXT, new Ort.In(new long[] {b, 77, d}, context),
                    ModelGraphs.CONTROL_IMAGE, new Ort.In(new long[] {b, 3, 8 * h, 8 * w}, image)));
        }
        try (ParameterStore store = new ParameterStore(WEIGHTS); PointerScope scope = new PointerScope()) {
            ControlNet.Residuals<Tensor> r = ControlNet.forward(new TorchNn(store), ModelGraphs.controlnetComponent(0),
                    Torch.floats(sample, b, 4, h, w), Torch.floats(t, 1), Torch.floats(context, b, 77, d),
                    Torch.floats(image, b, 3, 8 * h, 8 * w), TINY.controlnet());
            for (int i = 0; i < r.down().size(); i++) {
                assertThat(Ort.relativeError(Torch.toFloats(r.down().get(i)), onnx.get(ModelGraphs.downResidualName(i))))
                        .as("residual %d", i).isLessThan(TOLERANCE);
            }
            assertThat(Ort.relativeError(Torch.toFloats(r.mid()), onnx.get(ModelGraphs.MID_RESIDUAL))).isLessThan(TOLERANCE);
        }
    }

    @Test
    void textEncoderAgrees() throws Exception {
        long[] ids = new long[2 * 77];
        for (int i = 0; i < ids.length; i++) {
            int pos = i % 77;
            ids[i] = pos == 0 ? 49406 : pos < 6 + i / 77 ? 300 + rnd.nextInt(500) : 49407;
        }
        Map<String, float[]> onnx;
        try (Ort ort = new Ort(ModelGraphs.textEncoder(TINY, Storage.FP32, 2), WEIGHTS)) {
            onnx = ort.run(Map.of(ModelGraphs.INPUT_IDS, new Ort.In(new long[] {2, 77}, ids)));
        }
        try (ParameterStore store = new ParameterStore(WEIGHTS); PointerScope scope = new PointerScope()) {
            ClipText.Outputs<Tensor> out = ClipText.forward(new TorchNn(store), ModelGraphs.TEXT_ENCODER, Torch.longs(ids, 2, 77),
                    TINY.textEncoder());
            assertThat(Ort.relativeError(Torch.toFloats(out.lastHiddenState()), onnx.get(ModelGraphs.LAST_HIDDEN))).isLessThan(TOLERANCE);
            assertThat(Ort.relativeError(Torch.toFloats(out.pooled()), onnx.get(ModelGraphs.POOLED))).isLessThan(TOLERANCE);
        }
    }

    @Test
    void vaeDecoderAndEncoderAgree() throws Exception {
        float[] latent = random(4 * 8 * 8, -2, 2);
        float[] image = random(3 * 64 * 64, -1, 1);
        float[] decoded;
        float[] mean;
        try (Ort ort = new Ort(ModelGraphs.vaeDecoder(TINY, Storage.FP32, REF), WEIGHTS)) {
            decoded = ort.run(Map.of(ModelGraphs.LATENT_SAMPLE, new Ort.In(new long[] {1, 4, 8, 8}, latent))).get(ModelGraphs.SAMPLE);
        }
        try (Ort ort = new Ort(ModelGraphs.vaeEncoder(TINY, Storage.FP32, REF), WEIGHTS)) {
            mean = ort.run(Map.of(ModelGraphs.SAMPLE, new Ort.In(new long[] {1, 3, 64, 64}, image))).get(ModelGraphs.LATENT_MEAN);
        }
        try (ParameterStore store = new ParameterStore(WEIGHTS); PointerScope scope = new PointerScope()) {
            TorchNn nn = new TorchNn(store);
            Tensor dec = Vae.decode(nn, ModelGraphs.VAE, Torch.floats(latent, 1, 4, 8, 8), TINY.vae());
            Vae.Posterior<Tensor> enc = Vae.encode(nn, ModelGraphs.VAE, Torch.floats(image, 1, 3, 64, 64), TINY.vae());
            assertThat(Ort.relativeError(Torch.toFloats(dec), decoded)).isLessThan(TOLERANCE);
            assertThat(Ort.relativeError(Torch.toFloats(enc.mean()), mean)).isLessThan(TOLERANCE);
        }
    }
}
