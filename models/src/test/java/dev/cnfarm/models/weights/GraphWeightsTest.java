package dev.cnfarm.models.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.platform.Fp16Conversions;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.onnx.ParamSpec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The weights read back from a built bundle's graphs are the ones it was built from: float32 to
 * the bit, float16 as float16 rounds them, inline and in external data files alike.
 */
class GraphWeightsTest {
    @TempDir
    Path dir;

    private final WeightSource built = new RandomWeights(12, false);

    private ModelBundle build(String id, Boolean external, Storage dtype) {
        return BundleBuilder.build(dir.resolve(id), new BundleBuilder.Options(id, ModelPreset.tiny(), 1, dtype, external), built,
                "random, seed 12", (done, total, graph) -> { });
    }

    /** The builder's own parameter specs (with their initialisers), by ONNX name, of the graphs read here (not the VAE's). */
    private static java.util.Map<String, ParamSpec> specs() {
        java.util.Map<String, ParamSpec> m = new java.util.HashMap<>();
        ModelPreset tiny = ModelPreset.tiny();
        BundleBuilder.graphs(tiny, 1, Storage.FP32, BundleBuilder.referenceSize(tiny)).values()
                .forEach(g -> g.params().stream().filter(p -> !p.component().equals("vae")).forEach(p -> m.put(p.onnxName(), p)));
        return m;
    }

    private static GraphWeights read(ModelBundle b) {
        return GraphWeights.of(List.of(b.graph(BundleBuilder.TEXT_ENCODER), b.graph(BundleBuilder.UNET), b.graph(BundleBuilder.CONTROLLED_UNET)));
    }

    @Test
    void float32WeightsComeBackToTheBitInlineAndExternal() {
        for (boolean external : new boolean[] {false, true}) {
            GraphWeights w = read(build("fp32-" + external, external, Storage.FP32));
            List<ParamSpec> params = w.params();
            java.util.Map<String, ParamSpec> specs = specs();
            assertThat(params).extracting(ParamSpec::component).contains("unet", "text_encoder", "controlnet0");
            assertThat(params).extracting(ParamSpec::onnxName).containsAll(specs.keySet());
            for (ParamSpec p : params) {
                if (!specs.containsKey(p.onnxName())) {
                    continue; // a constant of the graph (a norm's ones), not a parameter
                }
                assertThat(p.shape()).as(p.onnxName()).isEqualTo(specs.get(p.onnxName()).shape());
                assertThat(w.values(p)).as(p.onnxName()).isEqualTo(built.values(specs.get(p.onnxName())));
                assertThat(w.storedAsFp16(p.onnxName())).isFalse();
            }
        }
    }

    @Test
    void float16WeightsComeBackAsFloat16RoundsThem() {
        GraphWeights w = read(build("fp16", null, Storage.FP16));
        ParamSpec q = w.params().stream().filter(p -> p.key().endsWith("attn1.to_q.weight")).findFirst().orElseThrow();
        assertThat(w.storedAsFp16(q.onnxName())).isTrue();
        float[] expected = built.values(specs().get(q.onnxName()));
        for (int i = 0; i < expected.length; i++) {
            expected[i] = Fp16Conversions.fp16ToFloat(Fp16Conversions.floatToFp16(expected[i]));
        }
        assertThat(w.values(q)).isEqualTo(expected);
    }

    @Test
    void aNameTheGraphsLackIsRefusedByName() {
        GraphWeights w = read(build("fp32", false, Storage.FP32));
        ParamSpec q = w.params().get(0);
        assertThatThrownBy(() -> w.values(new ParamSpec("unet.nope.weight", "unet", "nope.weight", q.shape(), null, 1)))
                .hasMessageContaining("no weight named unet.nope.weight");
    }
}
