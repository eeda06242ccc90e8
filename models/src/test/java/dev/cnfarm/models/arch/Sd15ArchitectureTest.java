package dev.cnfarm.models.arch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.onnx.ParamSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The sd15 preset against the reference facts, without materialising a single weight: every
 * parameter name and shape equals the diffusers state dict, the totals are exact, and the
 * multiply-accumulates at 512x512 equal the reference count.
 */
class Sd15ArchitectureTest {
    private static final ModelPreset SD15 = ModelPreset.sd15();

    @Test
    void unetParametersAreTheDiffusersStateDict() throws IOException {
        GraphBuilder g = ModelGraphs.plainUNet(SD15, Storage.FP32, RefSize.sd15Default());
        assertThat(shapes(g, "unet")).isEqualTo(reference("sd15-unet-keys.txt"));
        assertThat(g.paramCount()).isEqualTo(859_520_964L);
        assertThat(g.params()).hasSize(686);
    }

    @Test
    void controlNetParametersAreTheDiffusersStateDict() throws IOException {
        GraphBuilder g = ModelGraphs.controlNet(SD15, Storage.FP32, RefSize.sd15Default());
        assertThat(shapes(g, "controlnet0")).isEqualTo(reference("sd15-controlnet-keys.txt"));
        assertThat(g.paramCount()).isEqualTo(361_279_120L);
        assertThat(g.params()).hasSize(340);
    }

    @Test
    void controlledUNetHoldsBothAndNothingElse() {
        GraphBuilder g = ModelGraphs.controlledUNet(SD15, 2, Storage.FP32, RefSize.sd15Default());
        assertThat(g.paramCount()).isEqualTo(859_520_964L + 2 * 361_279_120L);
    }

    @Test
    void multiplyAccumulatesAt512MatchTheReference() {
        // batch 1, 64x64 latent, 77 tokens: 401,636,720,640 (UNet) and 141,645,987,840 (ControlNet)
        assertThat(ModelGraphs.plainUNet(SD15, Storage.FP32, new RefSize(1, 64, 64)).macs()).isEqualTo(401_636_720_640L);
        assertThat(ModelGraphs.controlNet(SD15, Storage.FP32, new RefSize(1, 64, 64)).macs()).isEqualTo(141_645_987_840L);
    }

    @Test
    void controlNetResidualShapesAt512MatchTheReference() {
        GraphBuilder g = ModelGraphs.controlNet(SD15, Storage.FP32, new RefSize(2, 64, 64));
        long[][] expected = {
                {2, 320, 64, 64}, {2, 320, 64, 64}, {2, 320, 64, 64}, {2, 320, 32, 32},
                {2, 640, 32, 32}, {2, 640, 32, 32}, {2, 640, 16, 16},
                {2, 1280, 16, 16}, {2, 1280, 16, 16}, {2, 1280, 8, 8},
                {2, 1280, 8, 8}, {2, 1280, 8, 8}, {2, 1280, 8, 8}};
        Map<String, long[]> outputs = g.outputShapes();
        for (int i = 0; i < 12; i++) {
            assertThat(outputs.get(ModelGraphs.downResidualName(i))).as("residual %d", i).containsExactly(expected[i]);
        }
        assertThat(outputs.get(ModelGraphs.MID_RESIDUAL)).containsExactly(expected[12]);
    }

    @Test
    void textEncoderIsClipVitLargeText() {
        // token 49408x768 + position 77x768 + 12 layers of 7,087,872 + final norm 1,536
        assertThat(ModelGraphs.textEncoder(SD15, Storage.FP32, 1).paramCount()).isEqualTo(123_060_480L);
    }

    private static Map<String, String> shapes(GraphBuilder g, String component) {
        Map<String, String> out = new LinkedHashMap<>();
        for (ParamSpec p : g.params()) {
            if (p.component().equals(component)) {
                out.put(p.key(), Arrays.toString(p.shape()));
            }
        }
        return out;
    }

    private static Map<String, String> reference(String file) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        Pattern line = Pattern.compile("(\\S+) (\\[.*\\])");
        try (InputStream in = Sd15ArchitectureTest.class.getResourceAsStream("/reference/" + file)) {
            for (String l : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                Matcher m = line.matcher(l);
                if (!l.startsWith("#") && m.matches()) {
                    out.put(m.group(1), m.group(2));
                }
            }
        }
        return out;
    }
}
