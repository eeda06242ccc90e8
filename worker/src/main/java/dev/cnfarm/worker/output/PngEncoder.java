package dev.cnfarm.worker.output;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;

/**
 * Encodes a float RGB tensor [3, H, W] in [0, 1] as PNG, with the generation parameters in a
 * {@code parameters} tEXt chunk, the chunk image tools (A1111-style readers) look for.
 */
public final class PngEncoder {
    private static final String PNG_METADATA = "javax_imageio_png_1.0";

    private PngEncoder() {}

    public static BufferedImage toImage(float[] chw, int width, int height) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int plane = width * height;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int i = y * width + x;
                int r = toByte(chw[i]);
                int g = toByte(chw[plane + i]);
                int b = toByte(chw[2 * plane + i]);
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return img;
    }

    public static byte[] encode(float[] chw, int width, int height, String parameters) {
        BufferedImage img = toImage(chw, width, height);
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
             ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(img), null);
            IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
            entry.setAttribute("keyword", "parameters");
            entry.setAttribute("value", parameters);
            IIOMetadataNode text = new IIOMetadataNode("tEXt");
            text.appendChild(entry);
            IIOMetadataNode root = new IIOMetadataNode(PNG_METADATA);
            root.appendChild(text);
            meta.mergeTree(PNG_METADATA, root);
            writer.setOutput(out);
            writer.write(new IIOImage(img, null, meta));
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding failed", e);
        } finally {
            writer.dispose();
        }
    }

    private static int toByte(float v) {
        int b = Math.round(v * 255f);
        return b < 0 ? 0 : Math.min(b, 255);
    }
}
