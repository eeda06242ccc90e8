package dev.cnfarm.cli.models;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.FarmCommand;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.models.weights.SafetensorsWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ModelsCommandTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {}

    private static Run farm(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = FarmCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void describeSd15ReportsTheExactCountsAndResidualShapes() throws Exception {
        Run r = farm("models", "describe", "--preset", "sd15", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode d = Json.mapper().readTree(r.out());
        JsonNode unet = find(d, "unet");
        JsonNode cn = find(d, "controlnet");
        assertThat(unet.get("params").asLong()).isEqualTo(859_520_964L);
        assertThat(cn.get("params").asLong()).isEqualTo(361_279_120L);
        assertThat(cn.at("/output_shapes/down_block_3_additional_residual").toString()).isEqualTo("[2,320,32,32]");
        assertThat(cn.at("/output_shapes/mid_block_additional_residual").toString()).isEqualTo("[2,1280,8,8]");
        double ratio = find(d, "controlled_unet").get("macs").asDouble() / unet.get("macs").asDouble();
        assertThat(ratio).isBetween(1.34, 1.36);
        Run text = farm("models", "describe", "--preset", "sd15");
        assertThat(text.out()).contains("859,520,964").contains("361,279,120").contains("[2, 1280, 16, 16]");
    }

    @Test
    void exportMergeAndDescribeADiffusersFolder() throws Exception {
        Path bundle = dir.resolve("tiny");
        Path out = dir.resolve("exported");
        dev.cnfarm.models.bundle.GeneratedBundles.tiny(dir);
        Run export = farm("models", "export", "--layout", "diffusers-onnx", bundle.toString(), out.toString(),
                "--timestep-type", "float16", "--timestep-shape", "scalar", "--ids-type", "int64");
        assertThat(export.code()).as(export.err()).isZero();
        assertThat(export.out()).contains("timestep float16 scalar").contains("input_ids int64");
        assertThat(out.resolve("model_index.json")).isRegularFile();

        Run again = farm("models", "export", bundle.toString(), out.toString());
        assertThat(again.code()).isNotZero();
        assertThat(again.err()).contains("not an empty folder");
        Run badType = farm("models", "export", bundle.toString(), dir.resolve("other").toString(), "--timestep-type", "int8");
        assertThat(badType.code()).isNotZero();
        assertThat(badType.err()).contains("int8").contains("float32, float16, int64 or int32");

        dev.cnfarm.models.interop.SplitControlNet.build(dir.resolve("split"), ModelPreset.tiny(),
                new RandomWeights(dev.cnfarm.models.bundle.GeneratedBundles.SEED, false), GraphBuilder.Storage.FP32, false);
        Run merge = farm("models", "merge", "--controlnet", dir.resolve("split/controlnet/model.onnx").toString(),
                "--unet", dir.resolve("split/unet/model.onnx").toString(), "--out", out.resolve("unet_controlnet/model.onnx").toString());
        assertThat(merge.code()).as(merge.err()).isZero();
        assertThat(merge.out()).contains("merged");
        Run overwrite = farm("models", "merge", "--controlnet", dir.resolve("split/controlnet/model.onnx").toString(),
                "--unet", dir.resolve("split/unet/model.onnx").toString(), "--out", out.resolve("unet_controlnet/model.onnx").toString());
        assertThat(overwrite.code()).isNotZero();
        assertThat(overwrite.err()).contains("--out").contains("exists");

        Run describe = farm("models", "describe", out.toString());
        assertThat(describe.code()).as(describe.err()).isZero();
        assertThat(describe.out()).contains("layout diffusers-onnx").contains("timestep float16 scalar")
                .contains("merged UNet with 1 ControlNet");
        JsonNode json = Json.mapper().readTree(farm("models", "describe", out.toString(), "--json").out());
        assertThat(json.get("layout").asText()).isEqualTo("diffusers-onnx");
        assertThat(json.at("/unet/timestep_type").asText()).isEqualTo("FLOAT16");
        Run bundleDescribe = farm("models", "describe", bundle.toString());
        assertThat(bundleDescribe.out()).contains("layout and contract: cnfarm-bundle");
    }

    @Test
    void buildThenDescribeABundle() {
        Path out = dir.resolve("tiny");
        Run r = farm("models", "build", "--preset", "tiny", "--controlnets", "2", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        ModelBundle b = ModelBundle.open(out);
        assertThat(b.manifest().controlnets()).isEqualTo(2);
        Run d = farm("models", "describe", out.toString());
        assertThat(d.code()).isZero();
        assertThat(d.out()).contains("preset tiny, 2 ControlNet(s)").contains("controlled_unet");
        Run again = farm("models", "build", "--out", out.toString());
        assertThat(again.code()).isEqualTo(FarmCommand.USAGE);
        assertThat(again.err()).contains("exists already");
    }

    @Test
    void importBindsDiffusersWeightsAndRefusesAMisfitByName() {
        ModelPreset tiny = ModelPreset.tiny();
        Map<String, GraphBuilder> graphs = BundleBuilder.graphs(tiny, 1, GraphBuilder.Storage.FP32, BundleBuilder.referenceSize(tiny));
        RandomWeights w = new RandomWeights(77, false);
        Map<String, Map<String, SafetensorsWriter.Tensor>> byComponent = new LinkedHashMap<>();
        for (GraphBuilder g : graphs.values()) {
            for (ParamSpec p : g.params()) {
                byComponent.computeIfAbsent(p.component(), k -> new LinkedHashMap<>())
                        .put(p.key(), new SafetensorsWriter.Tensor(p.shape(), w.values(p)));
            }
        }
        Map<String, Path> files = new LinkedHashMap<>();
        byComponent.forEach((component, tensors) -> {
            Path f = dir.resolve(component + ".safetensors");
            SafetensorsWriter.write(f, tensors, component.equals(ModelGraphs.VAE) ? "F16" : "F32", Map.of("format", "pt"));
            files.put(component, f);
        });
        Path out = dir.resolve("imported");
        Run r = farm("models", "import", "--preset", "tiny", "--unet", files.get("unet").toString(),
                "--controlnet", files.get("controlnet0").toString(), "--text-encoder", files.get("text_encoder").toString(),
                "--vae", files.get("vae").toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(ModelBundle.open(out).manifest().weights()).contains("safetensors");

        // the text encoder's file offered as the UNet: refused, naming tensors, nothing written
        Path bad = dir.resolve("bad");
        Run refused = farm("models", "import", "--preset", "tiny", "--unet", files.get("text_encoder").toString(),
                "--allow-random", "--out", bad.toString());
        assertThat(refused.code()).isEqualTo(FarmCommand.USAGE);
        assertThat(refused.err()).contains("conv_in.weight").contains("is missing").contains("text_model.");
        assertThat(bad).doesNotExist();
    }

    /** An inpainting UNet's checkpoint (conv_in of 9 input channels) names its architecture: imported as the preset's inpainting form. */
    @Test
    void aCheckpointWithANineChannelUNetImportsAsAnInpaintingBundle() throws Exception {
        ModelPreset inpainting = ModelPreset.tiny().inpainting();
        java.util.List<ParamSpec> params = new java.util.ArrayList<>();
        BundleBuilder.graphs(inpainting, 0, GraphBuilder.Storage.FP32, BundleBuilder.referenceSize(inpainting)).values()
                .forEach(g -> params.addAll(g.params()));
        RandomWeights w = new RandomWeights(5, false);
        Map<String, SafetensorsWriter.Tensor> checkpoint = new LinkedHashMap<>();
        var layout = dev.cnfarm.models.weights.OriginalLayout.of(params, dev.cnfarm.models.weights.OriginalLayout.CONTROLNET_PREFIX);
        for (var e : layout.entries().values()) {
            checkpoint.put(e.originalKey(), new SafetensorsWriter.Tensor(e.originalShape(), w.values(e.param())));
        }
        Path ckpt = dir.resolve("v1-5-inpainting-like.safetensors");
        SafetensorsWriter.write(ckpt, checkpoint, "F16", Map.of());
        Path out = dir.resolve("inpainting");
        Run r = farm("models", "import", "--preset", "tiny", "--checkpoint", ckpt.toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(ModelBundle.open(out).manifest().preset()).isEqualTo("tiny-inpainting");
        assertThat(dev.cnfarm.worker.engine.SdModel.of(ModelBundle.open(out)).unetInChannels()).isEqualTo(9);
    }

    @Test
    void aSingleFileCheckpointAndAnOriginalControlNetImportToTheSameImages() throws Exception {
        ModelPreset tiny = ModelPreset.tiny();
        java.util.List<ParamSpec> params = new java.util.ArrayList<>();
        BundleBuilder.graphs(tiny, 1, GraphBuilder.Storage.FP32, BundleBuilder.referenceSize(tiny)).values().forEach(g -> params.addAll(g.params()));
        RandomWeights w = new RandomWeights(78, false);
        // the same weights twice: diffusers' component files, and the original layout (one checkpoint, one ControlNet file)
        Map<String, Map<String, SafetensorsWriter.Tensor>> diffusers = new LinkedHashMap<>();
        Map<String, SafetensorsWriter.Tensor> checkpoint = new LinkedHashMap<>();
        Map<String, SafetensorsWriter.Tensor> control = new LinkedHashMap<>();
        dev.cnfarm.models.weights.OriginalLayout layout = dev.cnfarm.models.weights.OriginalLayout.of(params,
                dev.cnfarm.models.weights.OriginalLayout.CONTROLNET_PREFIX);
        for (var e : layout.entries().values()) {
            ParamSpec p = e.param();
            float[] v = w.values(p);
            diffusers.computeIfAbsent(p.component(), k -> new LinkedHashMap<>()).put(p.key(), new SafetensorsWriter.Tensor(p.shape(), v));
            (p.component().startsWith("controlnet") ? control : checkpoint).put(e.originalKey(), new SafetensorsWriter.Tensor(e.originalShape(), v));
        }
        Map<String, Path> files = new LinkedHashMap<>();
        diffusers.forEach((component, tensors) -> {
            Path f = dir.resolve(component + ".safetensors");
            SafetensorsWriter.write(f, tensors, "F16", Map.of());
            files.put(component, f);
        });
        Path ckpt = dir.resolve("v1-5-like.safetensors");
        Path cn = dir.resolve("control_v11p_like.safetensors");
        SafetensorsWriter.write(ckpt, checkpoint, "F16", Map.of());
        SafetensorsWriter.write(cn, control, "F16", Map.of());

        Path fromDiffusers = dir.resolve("from-diffusers");
        Run a = farm("models", "import", "--preset", "tiny", "--unet", files.get("unet").toString(), "--controlnet",
                files.get("controlnet0").toString(), "--text-encoder", files.get("text_encoder").toString(), "--vae", files.get("vae").toString(),
                "--out", fromDiffusers.toString());
        assertThat(a.code()).as(a.err()).isZero();
        Path fromOriginal = dir.resolve("from-original");
        Run b = farm("models", "import", "--preset", "tiny", "--checkpoint", ckpt.toString(), "--controlnet", cn.toString(),
                "--out", fromOriginal.toString());
        assertThat(b.code()).as(b.err()).isZero();
        assertThat(ModelBundle.open(fromOriginal).manifest().weights()).contains("original-layout checkpoint v1-5-like.safetensors");

        float[] control64 = new float[3 * 64 * 64];
        for (int i = 0; i < control64.length; i += 7) {
            control64[i] = 1;
        }
        var request = new dev.cnfarm.worker.render.RenderRequest("a house", "", java.util.List.of(new dev.cnfarm.worker.engine.ControlUnit(control64,
                1, 0, 1, dev.cnfarm.worker.engine.ControlMode.BALANCED)), false, 3, 4, 64, 64, 5f, "euler_a", 0f);
        float[][] images = new float[2][];
        int k = 0;
        for (Path bundle : java.util.List.of(fromDiffusers, fromOriginal)) {
            try (var r = new dev.cnfarm.worker.engine.SdRenderer(ModelBundle.open(bundle), dev.cnfarm.worker.engine.ExecutionProviders.cpu(),
                    dev.cnfarm.common.config.SessionSettings.defaults(), 4)) {
                images[k++] = r.render(request, dev.cnfarm.worker.render.StepListener.NONE).rgb();
            }
        }
        assertThat(images[1]).as("the same image, bit for bit").isEqualTo(images[0]);

        // a LoRA merged at weight 0 leaves the image as it was; at weight 1 it changes it
        ParamSpec toQ = params.stream().filter(p -> p.component().equals("unet") && p.key().endsWith("attn1.to_q.weight")).findFirst().orElseThrow();
        String module = "lora_unet_" + toQ.key().substring(0, toQ.key().length() - ".weight".length()).replace('.', '_');
        float[] up = new float[(int) toQ.shape()[0] * 2];
        float[] down = new float[(int) toQ.shape()[1] * 2];
        java.util.Arrays.fill(up, 0.5f);
        java.util.Arrays.fill(down, 0.5f);
        Path lora = dir.resolve("style.safetensors");
        SafetensorsWriter.write(lora, Map.of(module + ".lora_up.weight", new SafetensorsWriter.Tensor(new long[] {toQ.shape()[0], 2}, up),
                module + ".lora_down.weight", new SafetensorsWriter.Tensor(new long[] {2, toQ.shape()[1]}, down)), "F32", Map.of());
        for (String weight : java.util.List.of("0", "1")) {
            Path withLora = dir.resolve("with-lora-" + weight);
            Run l = farm("models", "import", "--preset", "tiny", "--checkpoint", ckpt.toString(), "--controlnet", cn.toString(),
                    "--lora", lora + ":" + weight, "--out", withLora.toString());
            assertThat(l.code()).as(l.err()).isZero();
            try (var r = new dev.cnfarm.worker.engine.SdRenderer(ModelBundle.open(withLora), dev.cnfarm.worker.engine.ExecutionProviders.cpu(),
                    dev.cnfarm.common.config.SessionSettings.defaults(), 4)) {
                float[] img = r.render(request, dev.cnfarm.worker.render.StepListener.NONE).rgb();
                if (weight.equals("0")) {
                    assertThat(img).as("LoRA at weight 0: the base image, bit for bit").isEqualTo(images[0]);
                } else {
                    assertThat(img).as("LoRA at weight 1 changes the image").isNotEqualTo(images[0]);
                }
            }
        }

        // a .ckpt whose pickle would run a command: refused naming the global, nothing run, nothing written
        Path evil = dir.resolve("evil.ckpt");
        try (var z = new java.util.zip.ZipOutputStream(Files.newOutputStream(evil))) {
            z.putNextEntry(new java.util.zip.ZipEntry("archive/data.pkl"));
            byte[] cmd = ("touch " + dir.resolve("pwned")).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            java.io.ByteArrayOutputStream pkl = new java.io.ByteArrayOutputStream();
            pkl.write(new byte[] {(byte) 0x80, 2});
            pkl.writeBytes("cos\nsystem\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            pkl.write('X');
            pkl.writeBytes(java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(cmd.length).array());
            pkl.writeBytes(cmd);
            pkl.write(new byte[] {(byte) 0x85, 'R', '.'});
            z.write(pkl.toByteArray());
        }
        Run refused = farm("models", "import", "--preset", "tiny", "--checkpoint", ckpt.toString(), "--controlnet", evil.toString(),
                "--out", dir.resolve("evil-bundle").toString());
        assertThat(refused.code()).isEqualTo(FarmCommand.USAGE);
        assertThat(refused.err()).contains("os.system").contains("refused");
        assertThat(dir.resolve("pwned")).doesNotExist();
        assertThat(dir.resolve("evil-bundle")).doesNotExist();

        // both --unet and --checkpoint, or neither: refused by name
        Run both = farm("models", "import", "--preset", "tiny", "--checkpoint", ckpt.toString(), "--unet", files.get("unet").toString(),
                "--out", dir.resolve("both").toString());
        assertThat(both.code()).isEqualTo(FarmCommand.USAGE);
        assertThat(both.err()).contains("--unet").contains("--checkpoint");
    }

    private static JsonNode find(JsonNode d, String role) {
        for (JsonNode g : d.get("graphs")) {
            if (g.get("role").asText().equals(role)) {
                return g;
            }
        }
        throw new AssertionError("no graph " + role);
    }
}
