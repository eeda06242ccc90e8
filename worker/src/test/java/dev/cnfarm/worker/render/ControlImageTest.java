package dev.cnfarm.worker.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ControlImageTest {
    @Test
    void decodesAndResizesToTheTaskSize() throws Exception {
        BufferedImage white = new BufferedImage(10, 10, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 10; y++) {
            for (int x = 0; x < 10; x++) {
                white.setRGB(x, y, 0xffffff);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(white, "png", out);
        float[] chw = ControlImage.decode(out.toByteArray(), 16, 8);
        assertThat(chw).hasSize(3 * 16 * 8);
        for (float v : chw) {
            assertThat(v).isEqualTo(1f);
        }
    }

    @Test
    void notAnImageIsABadInput() {
        assertThatThrownBy(() -> ControlImage.decode("this is text, not a picture".getBytes(), 8, 8))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("not in a known image format");
    }

    @Test
    void truncatedPngIsABadInput() throws Exception {
        BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        byte[] half = java.util.Arrays.copyOf(out.toByteArray(), out.size() / 2);
        assertThatThrownBy(() -> ControlImage.decode(half, 8, 8)).isInstanceOf(BadInputException.class);
    }

    @Test
    void noiseIsFixedBySeed() {
        assertThat(SeededNoise.gaussian(5, 100)).isEqualTo(SeededNoise.gaussian(5, 100));
        assertThat(SeededNoise.gaussian(5, 100)).isNotEqualTo(SeededNoise.gaussian(6, 100));
    }
}
