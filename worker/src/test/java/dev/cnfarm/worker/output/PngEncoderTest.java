package dev.cnfarm.worker.output;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.Test;
import org.w3c.dom.NodeList;

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

        assertThat(textChunk(png, "parameters")).isEqualTo("a red house\nSteps: 20");
    }

    static String textChunk(byte[] png, String keyword) throws Exception {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(png))) {
            ImageReader reader = ImageIO.getImageReaders(in).next();
            reader.setInput(in);
            IIOMetadataNode root = (IIOMetadataNode) reader.getImageMetadata(0).getAsTree("javax_imageio_png_1.0");
            NodeList entries = root.getElementsByTagName("tEXtEntry");
            for (int i = 0; i < entries.getLength(); i++) {
                IIOMetadataNode e = (IIOMetadataNode) entries.item(i);
                if (keyword.equals(e.getAttribute("keyword"))) {
                    return e.getAttribute("value");
                }
            }
            return null;
        }
    }
}
