package dev.cnfarm.worker.preprocess;

import dev.cnfarm.common.preprocess.PreprocessorCatalog;
import dev.cnfarm.common.storage.ObjectNotFoundException;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.proto.v1.ControlNetInput;
import dev.cnfarm.worker.render.BadInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/**
 * Control maps for tasks, made once and kept in S3: the key is a digest of (input image sha256,
 * preprocessor, its parameters, output size, resize mode), so a bulk job that reuses a control
 * image preprocesses it once, whichever worker gets its tasks. Counts what it made and what it
 * found, for the heartbeat.
 */
public final class ControlMaps {
    /** Bumped when a preprocessor's output changes, so stale maps are not reused. */
    static final String VERSION = "1";

    private final ObjectStore store;
    private final ImageLimits limits;
    private final Path annotatorDir;
    private final AtomicLong made = new AtomicLong();
    private final AtomicLong hits = new AtomicLong();

    public ControlMaps(ObjectStore store, ImageLimits limits, Path annotatorDir) {
        this.store = store;
        this.limits = limits;
        this.annotatorDir = annotatorDir;
    }

    /**
     * @param png    the map as PNG, w x h
     * @param chw    the map as the model input: [3, h, w] in [0, 1]
     * @param cached whether it was found already made
     */
    public record ControlMap(byte[] png, float[] chw, String key, boolean cached) {}

    public ControlMap get(String tenant, ControlNetInput c, int w, int h) {
        return get(tenant, c, w, h, "control image");
    }

    /**
     * @param what how messages name the input ({@code control image}, {@code init image}, {@code mask image}): the same
     *             fetch, check and resize serve img2img's images, kept in the same cache
     */
    public ControlMap get(String tenant, ControlNetInput c, int w, int h, String what) {
        String pre = c.getPreprocessor().isEmpty() ? PreprocessorCatalog.PASSTHROUGH : c.getPreprocessor();
        String params;
        try {
            params = Preprocessors.canonicalParams(pre, c.getPreprocessorParamsMap());
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
        ResizeMode mode;
        try {
            mode = ResizeMode.of(c.getResizeMode());
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
        String identity = String.join("|", VERSION, c.getImage().getSha256(), c.getImage().getKey(), pre, params, w + "x" + h, mode.id());
        String key = "control-maps/" + tenant + "/" + Sha256.of(identity.getBytes(StandardCharsets.UTF_8)) + ".png";
        try {
            byte[] png = store.get(key);
            hits.incrementAndGet();
            return new ControlMap(png, toChw(png), key, true);
        } catch (ObjectNotFoundException e) {
            // not made yet
        }
        String inputKey = c.getImage().getKey();
        store.stat(inputKey).ifPresent(info -> {
            if (info.sizeBytes() > limits.maxBytes()) {
                // refused unread: a presigned PUT accepts any body, whatever size its upload declared
                throw BadInputException.permanent(what + " " + inputKey + " is " + info.sizeBytes() + " bytes; at most "
                        + limits.maxBytes() + " are accepted");
            }
        });
        byte[] input = store.get(inputKey);
        String sha = Sha256.of(input);
        if (!c.getImage().getSha256().isEmpty() && !sha.equals(c.getImage().getSha256())) {
            // uploads are named by their sha256: these bytes are not the upload the job was given, and never will be
            deleteQuietly(inputKey);
            throw BadInputException.permanent(what + " " + inputKey + " holds bytes with sha256 " + sha + ", not the "
                    + c.getImage().getSha256() + " its key names (a PUT to the upload's URL sent other bytes than it declared); "
                    + "the object was deleted: upload the image again");
        }
        Mat map = Preprocessors.controlMap(pre, input, c.getPreprocessorParamsMap(), w, h, mode, limits, annotatorDir);
        byte[] png;
        try {
            png = encodePng(map);
        } finally {
            map.release();
        }
        store.put(key, png, "image/png");
        made.incrementAndGet();
        return new ControlMap(png, toChw(png), key, false);
    }

    public long made() {
        return made.get();
    }

    public long hits() {
        return hits.get();
    }

    private void deleteQuietly(String key) {
        try {
            store.delete(key);
        } catch (RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(ControlMaps.class).warn("could not delete the mismatched upload {}: {}", key, e.toString());
        }
    }

    /** An RGB 8-bit map as PNG bytes. */
    public static byte[] encodePng(Mat rgb) {
        Mat bgr = new Mat();
        MatOfByte out = new MatOfByte();
        try {
            Imgproc.cvtColor(rgb, bgr, Imgproc.COLOR_RGB2BGR);
            Imgcodecs.imencode(".png", bgr, out);
            return out.toArray();
        } finally {
            bgr.release();
            out.release();
        }
    }

    private float[] toChw(byte[] png) {
        Mat rgb = ImageDecoder.decodeRgb(png, limits);
        try {
            int h = rgb.rows();
            int w = rgb.cols();
            byte[] px = new byte[3 * h * w];
            rgb.get(0, 0, px);
            float[] chw = new float[3 * h * w];
            int plane = h * w;
            for (int i = 0; i < plane; i++) {
                for (int c = 0; c < 3; c++) {
                    chw[c * plane + i] = (px[3 * i + c] & 0xff) / 255f;
                }
            }
            return chw;
        } finally {
            rgb.release();
        }
    }
}
