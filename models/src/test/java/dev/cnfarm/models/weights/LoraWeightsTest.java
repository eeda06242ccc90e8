package dev.cnfarm.models.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.ParamSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA merged into the tiny model's weights, layer by layer against {@code W + w * (alpha / rank) *
 * up . down} computed here: a linear attention projection, a 3x3 convolution and a text encoder
 * projection, in kohya's layout and in diffusers/PEFT's; weight 0 leaves the weights to the bit.
 */
class LoraWeightsTest {
    private static final int RANK = 2;

    @TempDir
    Path dir;

    private static List<ParamSpec> params() {
        List<ParamSpec> out = new ArrayList<>();
        ModelPreset tiny = ModelPreset.tiny();
        BundleBuilder.graphs(tiny, 0, GraphBuilder.Storage.FP32, BundleBuilder.referenceSize(tiny)).values().forEach(g -> out.addAll(g.params()));
        return out;
    }

    private static ParamSpec find(List<ParamSpec> params, String component, String suffix) {
        return params.stream().filter(p -> p.component().equals(component) && p.key().endsWith(suffix)).findFirst().orElseThrow(
                () -> new AssertionError("no " + component + " parameter ending " + suffix));
    }

    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextDouble() - 0.5);
        }
        return v;
    }

    @Test
    void kohyaAndPeftLorasMergeAsTheFormulaSaysAndWeightZeroChangesNothing() {
        List<ParamSpec> params = params();
        ParamSpec toQ = find(params, "unet", "attn1.to_q.weight");
        ParamSpec conv = find(params, "unet", "resnets.0.conv1.weight");
        ParamSpec teQ = find(params, "text_encoder", "self_attn.q_proj.weight");
        Map<String, SafetensorsWriter.Tensor> kohya = new LinkedHashMap<>();
        Map<ParamSpec, float[][]> updown = new LinkedHashMap<>();
        long seed = 1;
        for (ParamSpec p : List.of(toQ, conv, teQ)) {
            long out = p.shape()[0];
            long[] downShape = p.shape().length == 4 ? new long[] {RANK, p.shape()[1], p.shape()[2], p.shape()[3]} : new long[] {RANK, p.shape()[1]};
            long[] upShape = p.shape().length == 4 ? new long[] {out, RANK, 1, 1} : new long[] {out, RANK};
            float[] up = random((int) (out * RANK), seed++);
            float[] down = random((int) (p.count() / out * RANK), seed++);
            String module = (p.component().equals("unet") ? "lora_unet_" : "lora_te_")
                    + p.key().substring(0, p.key().length() - ".weight".length()).replace('.', '_');
            kohya.put(module + ".lora_up.weight", new SafetensorsWriter.Tensor(upShape, up));
            kohya.put(module + ".lora_down.weight", new SafetensorsWriter.Tensor(downShape, down));
            kohya.put(module + ".alpha", new SafetensorsWriter.Tensor(new long[] {}, new float[] {1f}));
            updown.put(p, new float[][] {up, down});
        }
        Path file = dir.resolve("style.safetensors");
        SafetensorsWriter.write(file, kohya, "F32", Map.of());
        WeightSource base = new RandomWeights(3, true);

        LoraWeights merged = new LoraWeights(base, params, List.of(new LoraWeights.Lora(file, 0.8)));
        assertThat(merged.notes()).containsExactly("style.safetensors: 3 layers at weight 0.8");
        for (var e : updown.entrySet()) {
            ParamSpec p = e.getKey();
            float[] want = base.values(p);
            int out = (int) p.shape()[0];
            int inK = want.length / out;
            for (int o = 0; o < out; o++) {
                for (int j = 0; j < inK; j++) {
                    double d = 0;
                    for (int r = 0; r < RANK; r++) {
                        d += e.getValue()[0][o * RANK + r] * e.getValue()[1][r * inK + j];
                    }
                    want[o * inK + j] += (float) (0.8 * (1.0 / RANK) * d);
                }
            }
            float[] got = merged.values(p);
            for (int i = 0; i < want.length; i++) {
                assertThat((double) got[i]).as("%s[%d]", p.key(), i).isCloseTo(want[i], within(1e-5));
            }
        }
        ParamSpec untouched = find(params, "unet", "conv_in.weight");
        assertThat(merged.values(untouched)).isEqualTo(base.values(untouched));
        LoraWeights off = new LoraWeights(base, params, List.of(new LoraWeights.Lora(file, 0)));
        for (ParamSpec p : params) {
            assertThat(off.values(p)).as("weight 0: %s to the bit", p.key()).isEqualTo(base.values(p));
        }

        // the same layer in diffusers/PEFT's layout (no alpha: scale 1)
        Map<String, SafetensorsWriter.Tensor> peft = new LinkedHashMap<>();
        String module = "unet." + toQ.key().substring(0, toQ.key().length() - ".weight".length());
        peft.put(module + ".lora_A.weight", kohya.entrySet().stream().filter(k -> k.getKey().contains("attn1_to_q.lora_down")).findFirst()
                .orElseThrow().getValue());
        peft.put(module + ".lora_B.weight", kohya.entrySet().stream().filter(k -> k.getKey().contains("attn1_to_q.lora_up")).findFirst()
                .orElseThrow().getValue());
        Path peftFile = dir.resolve("peft.safetensors");
        SafetensorsWriter.write(peftFile, peft, "F32", Map.of());
        float[] viaPeft = new LoraWeights(base, params, List.of(new LoraWeights.Lora(peftFile, 1))).values(toQ);
        float[] viaKohyaAlphaRank = new LoraWeights(base, params, List.of(new LoraWeights.Lora(file, RANK))).values(toQ);
        for (int i = 0; i < viaPeft.length; i++) {
            assertThat((double) viaPeft[i]).isCloseTo(viaKohyaAlphaRank[i], within(1e-6));
        }
    }

    @Test
    void keysThatNameNoLayerAreListed() {
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        t.put("lora_unet_no_such_block.lora_down.weight", new SafetensorsWriter.Tensor(new long[] {2, 4}, new float[8]));
        t.put("lora_unet_no_such_block.lora_up.weight", new SafetensorsWriter.Tensor(new long[] {4, 2}, new float[8]));
        t.put("something.else", new SafetensorsWriter.Tensor(new long[] {1}, new float[1]));
        Path file = dir.resolve("other.safetensors");
        SafetensorsWriter.write(file, t, "F32", Map.of());
        assertThatThrownBy(() -> new LoraWeights(new RandomWeights(1, true), params(), List.of(new LoraWeights.Lora(file, 1))))
                .isInstanceOf(SafetensorsException.class).hasMessageContaining("lora_unet_no_such_block").hasMessageContaining("'something.else'");
    }
}
