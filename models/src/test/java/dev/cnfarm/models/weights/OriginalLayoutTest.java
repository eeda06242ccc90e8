package dev.cnfarm.models.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.ParamSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The original (LDM / A1111) layout: SD1.5's whole key set maps one-to-one onto the sd15 preset's
 * parameters with the names and shapes real files use, and a tiny model written in that layout
 * (one checkpoint file, one ControlNet file) reads back to exactly the weights it was written from.
 */
class OriginalLayoutTest {
    @TempDir
    Path dir;

    private static List<ParamSpec> params(ModelPreset p, int controlnets) {
        List<ParamSpec> out = new ArrayList<>();
        BundleBuilder.graphs(p, controlnets, GraphBuilder.Storage.FP32, BundleBuilder.referenceSize(p)).values().forEach(g -> out.addAll(g.params()));
        return out;
    }

    @Test
    void sd15MapsOneToOneOntoTheNamesRealFilesUse() {
        OriginalLayout l = OriginalLayout.of(params(ModelPreset.named("sd15"), 1), OriginalLayout.CONTROLNET_PREFIX);
        Map<String, OriginalLayout.Entry> e = l.entries();
        assertThat(count(e, k -> k.startsWith(OriginalLayout.UNET_PREFIX))).as("UNet tensors of an SD1.5 file").isEqualTo(686);
        assertThat(count(e, k -> k.startsWith(OriginalLayout.VAE_PREFIX))).as("VAE tensors").isEqualTo(248);
        assertThat(count(e, k -> k.startsWith(OriginalLayout.TEXT_ENCODER_PREFIX))).as("text encoder tensors").isEqualTo(196);
        // names and shapes as v1-5-pruned-emaonly and control_v11p_sd15_canny have them
        Map<String, long[]> real = new LinkedHashMap<>();
        real.put("model.diffusion_model.time_embed.0.weight", new long[] {1280, 320});
        real.put("model.diffusion_model.input_blocks.0.0.weight", new long[] {320, 4, 3, 3});
        real.put("model.diffusion_model.input_blocks.1.1.proj_in.weight", new long[] {320, 320, 1, 1});
        real.put("model.diffusion_model.input_blocks.3.0.op.weight", new long[] {320, 320, 3, 3});
        real.put("model.diffusion_model.input_blocks.4.0.skip_connection.weight", new long[] {640, 320, 1, 1});
        real.put("model.diffusion_model.middle_block.1.transformer_blocks.0.attn2.to_k.weight", new long[] {1280, 768});
        real.put("model.diffusion_model.middle_block.2.emb_layers.1.weight", new long[] {1280, 1280});
        real.put("model.diffusion_model.output_blocks.2.1.conv.weight", new long[] {1280, 1280, 3, 3});
        real.put("model.diffusion_model.output_blocks.5.2.conv.weight", new long[] {1280, 1280, 3, 3});
        real.put("model.diffusion_model.output_blocks.11.0.skip_connection.weight", new long[] {320, 640, 1, 1});
        real.put("model.diffusion_model.output_blocks.11.1.transformer_blocks.0.ff.net.0.proj.weight", new long[] {2560, 320});
        real.put("model.diffusion_model.out.2.weight", new long[] {4, 320, 3, 3});
        real.put("first_stage_model.encoder.down.1.block.0.nin_shortcut.weight", new long[] {256, 128, 1, 1});
        real.put("first_stage_model.encoder.mid.attn_1.q.weight", new long[] {512, 512, 1, 1});
        real.put("first_stage_model.decoder.up.0.block.0.conv1.weight", new long[] {128, 256, 3, 3});
        real.put("first_stage_model.decoder.up.3.upsample.conv.weight", new long[] {512, 512, 3, 3});
        real.put("first_stage_model.decoder.mid.block_2.norm2.weight", new long[] {512});
        real.put("first_stage_model.quant_conv.weight", new long[] {8, 8, 1, 1});
        real.put("cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc2.weight", new long[] {768, 3072});
        real.put("control_model.input_hint_block.0.weight", new long[] {16, 3, 3, 3});
        real.put("control_model.input_hint_block.14.weight", new long[] {320, 256, 3, 3});
        real.put("control_model.zero_convs.11.0.weight", new long[] {1280, 1280, 1, 1});
        real.put("control_model.middle_block_out.0.weight", new long[] {1280, 1280, 1, 1});
        real.put("control_model.input_blocks.11.0.out_layers.3.weight", new long[] {1280, 1280, 3, 3});
        real.forEach((k, shape) -> {
            assertThat(e).as("a parameter for %s", k).containsKey(k);
            assertThat(e.get(k).originalShape()).as(k).containsExactly(shape);
        });
        assertThat(e.get("first_stage_model.decoder.up.0.block.0.conv1.weight").param().key()).isEqualTo("decoder.up_blocks.3.resnets.0.conv1.weight");
    }

    private static long count(Map<String, OriginalLayout.Entry> e, Predicate<String> p) {
        return e.keySet().stream().filter(p).count();
    }

    @Test
    void aTinyModelInTheOriginalLayoutReadsBackToTheBitAndEmaOnRequest() throws Exception {
        List<ParamSpec> params = params(ModelPreset.tiny(), 1);
        OriginalLayout l = OriginalLayout.of(params, OriginalLayout.CONTROLNET_PREFIX);
        WeightSource weights = new RandomWeights(5, false);
        WeightSource emaWeights = new RandomWeights(6, false);
        Map<String, SafetensorsWriter.Tensor> checkpoint = new LinkedHashMap<>();
        Map<String, SafetensorsWriter.Tensor> controlnet = new LinkedHashMap<>();
        for (OriginalLayout.Entry e : l.entries().values()) {
            SafetensorsWriter.Tensor t = new SafetensorsWriter.Tensor(e.originalShape(), weights.values(e.param()));
            if (e.param().component().startsWith("controlnet")) {
                controlnet.put(e.originalKey(), t);
            } else {
                checkpoint.put(e.originalKey(), t);
                if (e.param().component().equals(ModelGraphs.UNET)) {
                    checkpoint.put(OriginalLayout.emaKey(e.originalKey()), new SafetensorsWriter.Tensor(e.originalShape(), emaWeights.values(e.param())));
                }
            }
        }
        checkpoint.put("alphas_cumprod", new SafetensorsWriter.Tensor(new long[] {1000}, new float[1000]));
        checkpoint.put("cond_stage_model.transformer.text_model.embeddings.position_ids", new SafetensorsWriter.Tensor(new long[] {1, 77}, new float[77]));
        Path ckpt = dir.resolve("model.safetensors");
        Path cn = dir.resolve("control.safetensors");
        SafetensorsWriter.write(ckpt, checkpoint, "F32", Map.of());
        SafetensorsWriter.write(cn, controlnet, "F32", Map.of());

        try (OriginalWeights w = new OriginalWeights(false).addCheckpoint(SafetensorsFile.open(ckpt)).addControlNet(SafetensorsFile.open(cn),
                ModelGraphs.controlnetComponent(0))) {
            assertThat(OriginalWeights.isOriginal(SafetensorsFile.open(ckpt))).isTrue();
            w.bind(params);
            for (ParamSpec p : params) {
                assertThat(w.values(p)).as("%s %s", p.component(), p.key()).isEqualTo(weights.values(p));
            }
            assertThat(w.notes()).anyMatch(n -> n.contains("2 noise-schedule buffers")).anyMatch(n -> n.contains("EMA tensors passed over"));
        }
        try (OriginalWeights w = new OriginalWeights(true).addCheckpoint(SafetensorsFile.open(ckpt))) {
            w.bind(params);
            ParamSpec unet = params.stream().filter(p -> p.component().equals(ModelGraphs.UNET) && p.init().name().equals("WEIGHT"))
                    .findFirst().orElseThrow();
            ParamSpec vae = params.stream().filter(p -> p.component().equals(ModelGraphs.VAE) && p.init().name().equals("WEIGHT"))
                    .findFirst().orElseThrow();
            assertThat(w.values(unet)).as("the EMA copy").isEqualTo(emaWeights.values(unet));
            assertThat(w.values(vae)).as("only the UNet has EMA copies").isEqualTo(weights.values(vae));
        }

        // a ControlNet file whose keys lost their prefix reads the same
        Map<String, SafetensorsWriter.Tensor> bare = new LinkedHashMap<>();
        controlnet.forEach((k, v) -> bare.put(k.substring(OriginalLayout.CONTROLNET_PREFIX.length()), v));
        Path bareFile = dir.resolve("bare.safetensors");
        SafetensorsWriter.write(bareFile, bare, "F32", Map.of());
        try (OriginalWeights w = new OriginalWeights(false).addControlNet(SafetensorsFile.open(bareFile), ModelGraphs.controlnetComponent(0))) {
            w.bind(params);
            ParamSpec p = params.stream().filter(q -> q.component().equals("controlnet0")).findFirst().orElseThrow();
            assertThat(w.values(p)).isEqualTo(weights.values(p));
        }

        // a key missing and an unknown one: both named, nothing built
        String dropped = "model.diffusion_model.out.2.weight";
        checkpoint.remove(dropped);
        checkpoint.put("model.diffusion_model.input_blocks.99.0.weight", new SafetensorsWriter.Tensor(new long[] {1}, new float[1]));
        Path broken = dir.resolve("broken.safetensors");
        SafetensorsWriter.write(broken, checkpoint, "F32", Map.of());
        try (OriginalWeights w = new OriginalWeights(false).addCheckpoint(SafetensorsFile.open(broken))) {
            assertThatThrownBy(() -> w.bind(params)).isInstanceOf(SafetensorsException.class)
                    .hasMessageContaining("'" + dropped + "'").hasMessageContaining("(unet conv_out.weight)")
                    .hasMessageContaining("'model.diffusion_model.input_blocks.99.0.weight'");
        }
        assertThat(Files.size(ckpt)).isPositive();
    }
}
