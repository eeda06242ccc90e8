package dev.cnfarm.trainer.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/** PNG encoding and decoding of packed RGB images, and their conversion to model inputs. */
public final class Images {
    private Images() {}

    public static byte[] png(int[] rgb, int width, int height) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, width, height, rgb, 0, width);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** A decoded image: packed RGB, row by row. */
    public record Rgb(int width, int height, int[] pixels) {
        /** Channels first, each value in [lo, hi] (the VAE takes [-1, 1], control images [0, 1]). */
        public float[] chw(float lo, float hi) {
            int plane = width * height;
            float[] out = new float[3 * plane];
            float scale = (hi - lo) / 255f;
            for (int i = 0; i < plane; i++) {
                int p = pixels[i];
                out[i] = lo + ((p >> 16) & 0xff) * scale;
                out[plane + i] = lo + ((p >> 8) & 0xff) * scale;
                out[2 * plane + i] = lo + (p & 0xff) * scale;
            }
            return out;
        }
    }

    public static Rgb decode(byte[] png) {
        try {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
            if (img == null) {
                throw new IllegalArgumentException("not an image this decoder reads (PNG or JPEG expected)");
            }
            int w = img.getWidth();
            int h = img.getHeight();
            return new Rgb(w, h, img.getRGB(0, 0, w, h, null, 0, w));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Channels-first values in [lo, hi] back to packed RGB (rounded, clamped). */
    public static int[] fromChw(float[] chw, int width, int height, float lo, float hi) {
        int plane = width * height;
        int[] out = new int[plane];
        for (int i = 0; i < plane; i++) {
            int r = byteOf(chw[i], lo, hi);
            int g = byteOf(chw[plane + i], lo, hi);
            int b = byteOf(chw[2 * plane + i], lo, hi);
            out[i] = (r << 16) | (g << 8) | b;
        }
        return out;
    }

    private static int byteOf(float v, float lo, float hi) {
        int x = Math.round((v - lo) / (hi - lo) * 255f);
        return Math.max(0, Math.min(255, x));
    }
}
