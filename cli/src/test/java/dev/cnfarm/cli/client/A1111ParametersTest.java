package dev.cnfarm.cli.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A1111's parameters text (and this farm's own) read back into jobs; what is not applied is listed. */
class A1111ParametersTest {
    private static final String A1111 = """
            masterpiece, a red house on a hill, <lora:watercolor:0.7>
            at dusk
            Negative prompt: blurry, lowres
            Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3141592653, Size: 512x768, Model hash: 6ce0161689, \
            Model: v1-5-pruned-emaonly, Denoising strength: 0.4, ControlNet 0: "Module: canny, Model: control_v11p_sd15_canny [d14c016b], \
            Weight: 0.8, Resize Mode: Crop and Resize, Processor Res: 512, Threshold A: 100, Threshold B: 200, Guidance Start: 0.1, \
            Guidance End: 0.9, Pixel Perfect: False, Control Mode: My prompt is more important", ControlNet 1: "Module: none, \
            Model: control_v11p_sd15_scribble [d4ba51ff], Weight: 0.5, Guidance Start: 0, Guidance End: 1, Control Mode: Balanced", \
            Lora hashes: "watercolor: 1a2b3c", Version: v1.6.0""";

    @Test
    void anA1111PngBecomesAJobAndListsWhatIsNotApplied() {
        A1111Parameters p = A1111Parameters.parse(A1111);
        ObjectNode j = p.jobWith(List.of("uploads/default/a", "uploads/default/b"), "shapes");
        assertThat(j.at("/prompts/0").asText()).isEqualTo("masterpiece, a red house on a hill,\nat dusk");
        assertThat(j.get("negative_prompt").asText()).isEqualTo("blurry, lowres");
        assertThat(j.get("steps").asInt()).isEqualTo(28);
        assertThat(j.get("scheduler").asText()).as("DPM++ 2M with the Karras schedule").isEqualTo("dpmpp_2m_karras");
        assertThat(j.get("guidance_scale").asDouble()).isEqualTo(6.5);
        assertThat(j.at("/seeds/0").asLong()).isEqualTo(3141592653L);
        assertThat(j.get("width").asInt()).isEqualTo(512);
        assertThat(j.get("height").asInt()).isEqualTo(768);
        assertThat(j.get("model").asText()).as("--model overrides the PNG's").isEqualTo("shapes");
        assertThat(j.get("noise").asText()).as("A1111 draws on the GPU by default").isEqualTo("cuda_philox");
        assertThat(j.at("/control_images/0").asText()).isEqualTo("uploads/default/a");
        assertThat(j.get("control_scale").asDouble()).isEqualTo(0.8);
        assertThat(j.get("control_start").asDouble()).isEqualTo(0.1);
        assertThat(j.get("control_mode").asText()).isEqualTo("prompt");
        assertThat(j.get("preprocessor").asText()).isEqualTo("canny");
        assertThat(j.at("/additional_controlnets/0/image").asText()).isEqualTo("uploads/default/b");
        assertThat(j.at("/additional_controlnets/0/preprocessor").asText()).isEqualTo("passthrough");
        assertThat(j.at("/additional_controlnets/0/scale").asDouble()).isEqualTo(0.5);
        assertThat(p.loras()).containsExactly(new A1111Parameters.LoraTag("watercolor", 0.7));
        assertThat(p.notApplied()).anyMatch(s -> s.startsWith("Model hash: 6ce0161689"))
                .anyMatch(s -> s.startsWith("Denoising strength: 0.4")).anyMatch(s -> s.startsWith("ControlNet 0 Threshold A: 100"))
                .anyMatch(s -> s.startsWith("Version: v1.6.0")).anyMatch(s -> s.startsWith("Lora hashes"));
        assertThatThrownBy(() -> p.jobWith(List.of("uploads/default/a"), null)).hasMessageContaining("--control-image")
                .hasMessageContaining("2 ControlNet unit(s)");
    }

    @Test
    void theFarmsOwnPngsReadBackToTheirJob() {
        A1111Parameters p = A1111Parameters.parse("""
                a cosy cottage
                Negative prompt: blurry
                Steps: 6, Sampler: euler_a, CFG scale: 7.5, Seed: 11, Size: 64x64, Model: tiny, ControlNet 0: "Weight: 1.0, Guidance Start: \
                0.0, Guidance End: 1.0, Control Mode: balanced", RNG: CPU""");
        ObjectNode j = p.jobWith(List.of("k"), null);
        assertThat(j.get("scheduler").asText()).isEqualTo("euler_a");
        assertThat(j.get("model").asText()).isEqualTo("tiny");
        assertThat(j.get("noise").asText()).isEqualTo("torch_cpu");
        assertThat(p.notApplied()).isEmpty();
        assertThat(A1111Parameters.parse("x\nSteps: 4, Sampler: euler, Seed: 1, Size: 64x64").job().has("noise")).as("farm noise: the default")
                .isFalse();
    }

    @Test
    void whatCannotBeAJobIsRefusedByName() {
        assertThatThrownBy(() -> A1111Parameters.parse("x\nSteps: 20, Sampler: LMS, Seed: 1")).hasMessageContaining("Sampler")
                .hasMessageContaining("'LMS'");
        assertThatThrownBy(() -> A1111Parameters.parse("x\nSteps: 20, Size: big")).hasMessageContaining("Size: 'big'");
        assertThatThrownBy(() -> A1111Parameters.parse("")).hasMessageContaining("no parameters text");
    }

    @TempDir
    Path dir;

    @Test
    void farmSubmitFromPngPrintsTheJob() throws Exception {
        Path png = dir.resolve("a1111.png");
        Files.write(png, dev.cnfarm.worker.output.PngEncoder.encode(new float[3 * 8 * 8], 8, 8, A1111));
        Path map1 = dir.resolve("edges.png");
        Path map2 = dir.resolve("scribble.png");
        Files.write(map1, new byte[] {1});
        Files.write(map2, new byte[] {2});
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        picocli.CommandLine cli = dev.cnfarm.cli.FarmCommand.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int noLora = cli.execute("submit", "--from-png", png.toString(), "--control-image", map1.toString(), "--control-image", map2.toString(),
                "--model", "shapes", "--print");
        assertThat(noLora).isEqualTo(dev.cnfarm.cli.FarmCommand.USAGE);
        assertThat(err.toString()).contains("names LoRA 'watercolor'", "--lora-dir");
        Files.createDirectories(dir.resolve("Lora"));
        Files.write(dir.resolve("Lora/watercolor.safetensors"), new byte[] {3});
        int code = cli.execute("submit", "--from-png", png.toString(), "--control-image", map1.toString(), "--control-image", map2.toString(),
                "--model", "shapes", "--lora-dir", dir.resolve("Lora").toString(), "--print");
        assertThat(code).as(err.toString()).isZero();
        assertThat(out.toString()).contains("\"scheduler\" : \"dpmpp_2m_karras\"", "\"name\" : \"from a1111.png\"", "edges.png",
                "\"name\" : \"watercolor\"", "\"weight\" : 0.7", "watercolor.safetensors");
        assertThat(err.toString()).contains("not applied").contains("Denoising strength: 0.4");

        int refused = cli.execute("submit", "--from-png", png.toString(), "--print");
        assertThat(refused).isEqualTo(dev.cnfarm.cli.FarmCommand.USAGE);
        assertThat(err.toString()).contains("--control-image");
    }
}
