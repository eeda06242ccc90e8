package dev.cnfarm.worker.output;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import org.w3c.dom.NodeList;

/** Reads a text chunk of a PNG (tEXt, or iTXt) with the JDK's PNG reader: what image tools see. */
public final class PngText {
    private PngText() {}

    /** The text under {@code keyword}, or null when the PNG has none. */
    public static String read(byte[] png, String keyword) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(png))) {
            ImageReader reader = ImageIO.getImageReaders(in).next();
            try {
                reader.setInput(in);
                IIOMetadataNode root = (IIOMetadataNode) reader.getImageMetadata(0).getAsTree("javax_imageio_png_1.0");
                for (String[] kind : new String[][] {{"tEXtEntry", "value"}, {"iTXtEntry", "text"}}) {
                    NodeList entries = root.getElementsByTagName(kind[0]);
                    for (int i = 0; i < entries.getLength(); i++) {
                        IIOMetadataNode e = (IIOMetadataNode) entries.item(i);
                        if (keyword.equals(e.getAttribute("keyword"))) {
                            return e.getAttribute(kind[1]);
                        }
                    }
                }
                return null;
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("not a readable PNG: " + e.getMessage(), e);
        }
    }
}
