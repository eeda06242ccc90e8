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
 * {@code parameters} text chunk, the chunk image tools (A1111-style readers) look for: tEXt for
 * Latin-1 text, iTXt (UTF-8) otherwise, control characters but newlines removed.
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
            IIOMetadataNode root = new IIOMetadataNode(PNG_METADATA);
            root.appendChild(textChunk("parameters", cleanText(parameters)));
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

    /**
     * The chunk image tools read the text from, as they write it themselves: tEXt when the text is
     * Latin-1 (what tEXt holds), otherwise iTXt with UTF-8 (emoji, CJK, right-to-left text).
     */
    static IIOMetadataNode textChunk(String keyword, String text) {
        boolean latin1 = text.chars().allMatch(c -> c <= 0xFF);
        if (latin1) {
            IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
            entry.setAttribute("keyword", keyword);
            entry.setAttribute("value", text);
            IIOMetadataNode chunk = new IIOMetadataNode("tEXt");
            chunk.appendChild(entry);
            return chunk;
        }
        IIOMetadataNode entry = new IIOMetadataNode("iTXtEntry");
        entry.setAttribute("keyword", keyword);
        entry.setAttribute("compressionFlag", "FALSE");
        entry.setAttribute("compressionMethod", "0");
        entry.setAttribute("languageTag", "");
        entry.setAttribute("translatedKeyword", "");
        entry.setAttribute("text", text);
        IIOMetadataNode chunk = new IIOMetadataNode("iTXt");
        chunk.appendChild(entry);
        return chunk;
    }

    /**
     * PNG text holds no control characters but the newline (a NUL would even end it early): tabs
     * become spaces, carriage returns are dropped, other control characters (C0, DEL, C1) removed.
     */
    static String cleanText(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\n') {
                out.append(c);
            } else if (c == '\t') {
                out.append(' ');
            } else if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) {
                continue;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static int toByte(float v) {
        int b = Math.round(v * 255f);
        return b < 0 ? 0 : Math.min(b, 255);
    }
}
