package dev.cnfarm.worker.render;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import javax.imageio.ImageIO;

/**
 * Turns a control image file into the model's input: RGB, resized to the task's size, as a float
 * tensor [3, H, W] in [0, 1]. Decoding uses the JDK's ImageIO (PNG, JPEG, BMP, GIF); the full
 * preprocessors (Canny, pose, ...) and robust decoding come with the preprocessing work.
 */
public final class ControlImage {
    private ControlImage() {}

    public static float[] decode(byte[] file, int width, int height) {
        BufferedImage src;
        try {
            src = ImageIO.read(new ByteArrayInputStream(file));
        } catch (IOException | RuntimeException e) {
            throw new BadInputException("control image cannot be decoded: " + e.getMessage(), e);
        }
        if (src == null) {
            throw new BadInputException("control image is not in a known image format (PNG, JPEG, BMP or GIF)");
        }
        BufferedImage rgb = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = rgb.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(src, 0, 0, width, height, null);
        } finally {
            g.dispose();
        }
        float[] chw = new float[3 * width * height];
        int plane = width * height;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int p = rgb.getRGB(x, y);
                int i = y * width + x;
                chw[i] = ((p >> 16) & 0xff) / 255f;
                chw[plane + i] = ((p >> 8) & 0xff) / 255f;
                chw[2 * plane + i] = (p & 0xff) / 255f;
            }
        }
        return chw;
    }
}
