package dev.cnfarm.trainer.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The images of a training manifest decoded into memory (packed RGB), all of one square size, with
 * their captions. A 128x128 image takes 64 KB, so tens of thousands fit.
 */
public final class ImageSet {
    private final int size;
    private final int[][] pixels;
    private final String[] captions;

    private ImageSet(int size, int[][] pixels, String[] captions) {
        this.size = size;
        this.pixels = pixels;
        this.captions = captions;
    }

    public static ImageSet load(TrainingManifest m) {
        List<TrainingManifest.Row> rows = m.rows();
        int[][] px = new int[rows.size()][];
        String[] caps = new String[rows.size()];
        int[] sizes = new int[2];
        java.util.stream.IntStream.range(0, rows.size()).parallel().forEach(i -> {
            TrainingManifest.Row r = rows.get(i);
            Images.Rgb rgb;
            try {
                rgb = Images.decode(Files.readAllBytes(r.image()));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + r.image() + ": " + e.getMessage(), e);
            }
            px[i] = rgb.pixels();
            caps[i] = r.text();
            if (rgb.width() != rgb.height()) {
                throw new IllegalArgumentException(r.image() + " is " + rgb.width() + "x" + rgb.height() + "; training images must be square");
            }
            synchronized (sizes) {
                if (sizes[0] == 0) {
                    sizes[0] = rgb.width();
                } else if (sizes[0] != rgb.width()) {
                    throw new IllegalArgumentException(r.image() + " is " + rgb.width() + " pixels wide, other images " + sizes[0]
                            + "; every training image must have the same size");
                }
            }
        });
        return new ImageSet(sizes[0], px, caps);
    }

    static ImageSet of(int size, int[][] pixels, String[] captions) {
        return new ImageSet(size, pixels, captions);
    }

    /** Writes image i's channels with values in [0, 1] (how control images enter a ControlNet) into {@code out} at {@code offset}. */
    public void unit(int i, float[] out, int offset) {
        int plane = size * size;
        int[] p = pixels[i];
        for (int k = 0; k < plane; k++) {
            int v = p[k];
            out[offset + k] = ((v >> 16) & 0xff) / 255f;
            out[offset + plane + k] = ((v >> 8) & 0xff) / 255f;
            out[offset + 2 * plane + k] = (v & 0xff) / 255f;
        }
    }

    /** Images {@code from} (inclusive) to {@code to} (exclusive), sharing the pixels. */
    public ImageSet range(int from, int to) {
        return new ImageSet(size, java.util.Arrays.copyOfRange(pixels, from, to), java.util.Arrays.copyOfRange(captions, from, to));
    }

    public int size() {
        return size;
    }

    public int count() {
        return pixels.length;
    }

    public int[] pixels(int i) {
        return pixels[i];
    }

    public String caption(int i) {
        return captions[i];
    }

    /** Writes image i's channels (values in [-1, 1]) into {@code out} at {@code offset}, a crop of side {@code crop}. */
    public void crop(int i, int x0, int y0, int crop, boolean flip, float[] out, int offset) {
        int plane = crop * crop;
        int[] p = pixels[i];
        for (int y = 0; y < crop; y++) {
            for (int x = 0; x < crop; x++) {
                int sx = flip ? x0 + crop - 1 - x : x0 + x;
                int v = p[(y0 + y) * size + sx];
                int o = offset + y * crop + x;
                out[o] = ((v >> 16) & 0xff) / 127.5f - 1f;
                out[o + plane] = ((v >> 8) & 0xff) / 127.5f - 1f;
                out[o + 2 * plane] = (v & 0xff) / 127.5f - 1f;
            }
        }
    }
}
