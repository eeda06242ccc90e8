package dev.cnfarm.worker.preprocess;

import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.worker.render.BadInputException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/** An uploaded image's width and height, read from its header without decoding its pixels. */
public final class ImageSizes {
    private ImageSizes() {}

    /** @param what how a message names the image ({@code init image}, {@code mask image}) */
    public static int[] of(ObjectStore store, String key, String what) {
        byte[] bytes = store.get(key);
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw BadInputException.permanent(what + " " + key + " is not an image this worker reads (PNG, JPEG, BMP, GIF)");
            }
            ImageReader r = readers.next();
            try {
                r.setInput(in);
                return new int[] {r.getWidth(0), r.getHeight(0)};
            } finally {
                r.dispose();
            }
        } catch (IOException e) {
            throw BadInputException.permanent(what + " " + key + " cannot be read: " + e.getMessage(), e);
        }
    }
}
