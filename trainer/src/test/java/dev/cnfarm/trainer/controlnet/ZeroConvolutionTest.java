package dev.cnfarm.trainer.controlnet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.models.arch.ClipText;
import dev.cnfarm.models.arch.ControlNet;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.arch.UNet;
import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.trainer.base.DiffusionTraining;
import dev.cnfarm.trainer.torch.ParameterStore;
import dev.cnfarm.trainer.torch.Torch;
import dev.cnfarm.trainer.torch.TorchNn;
import dev.cnfarm.trainer.train.Optimiser;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * The paper's construction on libtorch (tiny preset): a ControlNet made as a copy of the base's
 * encoder joined by zero convolutions leaves the base's output unchanged to the bit at step 0; the
 * first backward pass gives the zero convolutions gradient and the copy none; after one optimiser
 * step the copy receives gradient; the locked base never changes.
 */
class ZeroConvolutionTest {
    private static final ModelPreset TINY = ModelPreset.tiny();
    private static final String CN = ModelGraphs.controlnetComponent(0);

    @Test
    void zeroConvolutionsStartAsTheBaseAndOpenAfterOneStep() {
        Map<String, float[]> base = new HashMap<>();
        try (ParameterStore b = new ParameterStore(new RandomWeights(3, true))) {
            DiffusionTraining.materialise(b, TINY.unet(), TINY.textEncoder(), 8);
            b.specs().forEach(s -> base.put(s.onnxName(), b.values(s.onnxName())));
        }
        SplittableRandom rnd = new SplittableRandom(4);
        float[] x = gaussian(rnd, 2 * 4 * 8 * 8);
        float[] image = new float[2 * 3 * 64 * 64];
        for (int i = 0; i < image.length; i++) {
            image[i] = rnd.nextDouble() < 0.1 ? 1f : 0f;
        }
        float[] target = gaussian(rnd, x.length);
        long[] ids = new long[2 * 77];
        Arrays.fill(ids, 49407);
        ids[0] = 49406;
        ids[77] = 49406;
        ids[1] = 320;
        try (ParameterStore store = new ParameterStore(ControlNetInit.of(base, CN, 9))) {
            store.lock(ModelGraphs.UNET);
            store.lock(ModelGraphs.TEXT_ENCODER);
            TorchNn nn = new TorchNn(store);
            float[] plain;
            float[] controlled;
            try (PointerScope scope = new PointerScope()) {
                Tensor[] in = inputs(x, ids, image, nn);
                plain = Torch.toFloats(UNet.forward(nn, ModelGraphs.UNET, in[0], in[1], in[2], TINY.unet(), null, null));
                Tensor out = controlledForward(nn, in);
                controlled = Torch.toFloats(out);
                torch.mse_loss(out, Torch.floats(target, 2, 4, 8, 8)).backward();
            }
            assertThat(Arrays.equals(plain, controlled)).as("controlled UNet = base UNet at step 0, to the bit").isTrue();
            // the conditioning encoder starts He-normal (so a sparse edge map's signal reaches its zero-initialised output)
            ParamSpec block = store.specs(CN).stream().filter(sp -> sp.key().equals("controlnet_cond_embedding.blocks.1.weight")).findFirst().orElseThrow();
            float[] w = store.values(block.onnxName());
            double var = 0;
            for (float v : w) {
                var += (double) v * v;
            }
            assertThat(Math.sqrt(var / w.length)).isCloseTo(Math.sqrt(2.0 / block.fanIn()), org.assertj.core.api.Assertions.withinPercentage(10));
            assertThat(store.values(CN + ".controlnet_cond_embedding.conv_out.weight")).containsOnly(0f);
            // the copy started as the base's encoder
            assertThat(store.values(CN + ".down_blocks.0.resnets.0.conv1.weight")).isEqualTo(base.get("unet.down_blocks.0.resnets.0.conv1.weight"));

            List<ParamSpec> links = store.specs(CN).stream().filter(s -> s.key().startsWith("controlnet_down_blocks.")
                    || s.key().startsWith("controlnet_mid_block.")).filter(s -> s.key().endsWith(".weight")).toList();
            List<ParamSpec> copy = store.specs(CN).stream().filter(s -> !ControlNetInit.isControlNetOwn(s)).toList();
            assertThat(links).hasSize(UNet.residualCount(TINY.unet()) + 1);
            assertThat(links).allSatisfy(s -> assertThat(maxAbsGrad(store, s)).as("gradient of %s", s.key()).isGreaterThan(0));
            assertThat(copy).isNotEmpty().allSatisfy(s -> {
                assertThat(store.tensor(s.onnxName()).grad().defined()).as("%s is in the graph", s.key()).isTrue();
                assertThat(maxAbsGrad(store, s)).as("gradient of %s", s.key()).isZero();
            });
            assertThat(store.tensor("unet.conv_in.weight").grad().defined()).as("the locked base gets no gradient").isFalse();

            try (Optimiser opt = new Optimiser(store.parameters(CN), new Optimiser.Settings(1e-3, 1, 10, 1, 0, 1.0))) {
                opt.step(0);
                try (PointerScope scope = new PointerScope()) {
                    Tensor out = controlledForward(nn, inputs(x, ids, image, nn));
                    torch.mse_loss(out, Torch.floats(target, 2, 4, 8, 8)).backward();
                }
                assertThat(copy.stream().mapToDouble(s -> maxAbsGrad(store, s)).max().orElseThrow())
                        .as("after one step the copy receives gradient").isGreaterThan(0);
                opt.step(1);
            }
            for (ParamSpec s : store.specs()) {
                if (!s.component().equals(CN)) {
                    assertThat(Arrays.equals(store.values(s.onnxName()), base.get(s.onnxName()))).as("locked %s unchanged", s.onnxName()).isTrue();
                }
            }
        }
    }

    private static Tensor[] inputs(float[] x, long[] ids, float[] image, TorchNn nn) {
        Tensor ctx = ClipText.forward(nn, ModelGraphs.TEXT_ENCODER, Torch.longs(ids, 2, 77), TINY.textEncoder()).lastHiddenState();
        return new Tensor[] {Torch.floats(x, 2, 4, 8, 8), Torch.floats(new float[] {420, 17}, 2), ctx, Torch.floats(image, 2, 3, 64, 64)};
    }

    private static Tensor controlledForward(TorchNn nn, Tensor[] in) {
        ControlNet.Residuals<Tensor> r = ControlNet.forward(nn, CN, in[0], in[1], in[2], in[3], TINY.controlnet());
        return UNet.forward(nn, ModelGraphs.UNET, in[0], in[1], in[2], TINY.unet(), r.down(), r.mid());
    }

    private static double maxAbsGrad(ParameterStore store, ParamSpec s) {
        Tensor g = store.tensor(s.onnxName()).grad();
        return g.defined() ? g.abs().max().item_double() : 0;
    }

    private static float[] gaussian(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }
}
