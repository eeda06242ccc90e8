package dev.cnfarm.worker.output;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class PngEncoderTest {
    @Test
    void pixelsAndParametersChunkRoundTrip() throws Exception {
        int w = 4;
        int h = 2;
        float[] chw = new float[3 * w * h];
        chw[0] = 1f;                 // red at (0,0)
        chw[w * h + 1] = 1f;         // green at (1,0)
        chw[2 * w * h + w] = 1f;     // blue at (0,1)
        chw[3] = 2f;                 // out of range, clamped
        byte[] png = PngEncoder.encode(chw, w, h, "a red house\nSteps: 20");

        BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
        assertThat(img.getWidth()).isEqualTo(w);
        assertThat(img.getHeight()).isEqualTo(h);
        assertThat(img.getRGB(0, 0) & 0xffffff).isEqualTo(0xff0000);
        assertThat(img.getRGB(1, 0) & 0xffffff).isEqualTo(0x00ff00);
        assertThat(img.getRGB(0, 1) & 0xffffff).isEqualTo(0x0000ff);
        assertThat(img.getRGB(3, 0) & 0xffffff).isEqualTo(0xff0000);

        assertThat(PngText.read(png, "parameters")).isEqualTo("a red house\nSteps: 20");
    }

    /**
     * Prompts of any script are read back exactly by the JDK's own PNG reader (not our encoder):
     * emoji, right-to-left marks, CJK and Latin-1 accents; control characters never reach the file.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"a red fox \uD83E\uDD8A at dawn \uD83C\uDF05", "\u202Bשלום עולם\u202C and \u0627\u0644\u0633\u0644\u0627\u0645",
            "\u65E5\u672C\u306E\u5C71\u3068\u685C", "caf\u00E9 cr\u00E8me br\u00FBl\u00E9e"})
    void promptsInAnyScriptAreReadBackExactly(String prompt) throws Exception {
        String params = prompt + "\nSteps: 20, Seed: 1";
        byte[] png = PngEncoder.encode(new float[3 * 4], 2, 2, params);
        assertThat(PngText.read(png, "parameters")).isEqualTo(params);
        boolean latin1 = params.chars().allMatch(c -> c <= 0xFF);
        assertThat(chunkTypes(png)).contains(latin1 ? "tEXt" : "iTXt").doesNotContain(latin1 ? "iTXt" : "tEXt");
    }

    @Test
    void controlCharactersAreRemovedSoTheTextChunkStaysValid() throws Exception {
        byte[] png = PngEncoder.encode(new float[3 * 4], 2, 2, "a\u0000b\tc\rd\u0007e\u009Bf\nSteps: 4");
        assertThat(PngText.read(png, "parameters")).isEqualTo("ab cdef\nSteps: 4");
        // the chunk itself: keyword, one NUL separator, then text without any NUL
        byte[] data = chunkData(png, "tEXt");
        int nuls = 0;
        for (byte b : data) {
            if (b == 0) {
                nuls++;
            }
        }
        assertThat(nuls).isEqualTo(1);
    }

    /** Each chunk's type and data, in file order, read straight from the bytes. */
    static java.util.List<java.util.Map.Entry<String, byte[]>> chunks(byte[] png) {
        java.util.List<java.util.Map.Entry<String, byte[]>> out = new java.util.ArrayList<>();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(png);
        b.position(8);
        while (b.remaining() >= 12) {
            int len = b.getInt();
            byte[] type = new byte[4];
            b.get(type);
            byte[] data = new byte[len];
            b.get(data);
            b.getInt();
            out.add(java.util.Map.entry(new String(type, java.nio.charset.StandardCharsets.US_ASCII), data));
        }
        return out;
    }

    static java.util.List<String> chunkTypes(byte[] png) {
        return chunks(png).stream().map(java.util.Map.Entry::getKey).toList();
    }

    static byte[] chunkData(byte[] png, String wanted) {
        return chunks(png).stream().filter(c -> c.getKey().equals(wanted)).map(java.util.Map.Entry::getValue).findFirst()
                .orElseThrow(() -> new AssertionError("no " + wanted + " chunk"));
    }
}
