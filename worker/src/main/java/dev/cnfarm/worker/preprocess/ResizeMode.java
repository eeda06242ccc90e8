package dev.cnfarm.worker.preprocess;

import java.util.Locale;
import org.opencv.core.Core;
import org.opencv.core.Mat;
import org.opencv.core.Rect;
import org.opencv.core.Scalar;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

/**
 * How an image is fitted to the output size (sd-webui-controlnet's three modes): stretch it
 * (just resize); scale it to cover the output and crop the middle (crop and resize, the default);
 * scale it to fit inside and pad the rest (resize and fill, padding with the edge pixels).
 */
public enum ResizeMode {
    JUST_RESIZE, CROP_AND_RESIZE, RESIZE_AND_FILL;

    public static ResizeMode of(String s) {
        if (s == null || s.isBlank()) {
            return CROP_AND_RESIZE;
        }
        return switch (s.toLowerCase(Locale.ROOT).replace('-', '_').replace(' ', '_')) {
            case "just_resize", "resize" -> JUST_RESIZE;
            case "crop_and_resize", "crop" -> CROP_AND_RESIZE;
            case "resize_and_fill", "fill" -> RESIZE_AND_FILL;
            default -> throw new IllegalArgumentException("resize mode '" + s + "' is not one of just_resize, crop_and_resize, resize_and_fill");
        };
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The image fitted to w x h (a new Mat; the caller releases it). Shrinking uses area averaging, growing cubic. */
    public Mat fit(Mat src, int w, int h) {
        Mat out = new Mat();
        int sw = src.cols();
        int sh = src.rows();
        switch (this) {
            case JUST_RESIZE -> Imgproc.resize(src, out, new Size(w, h), 0, 0, interpolation(sw * sh, w * h));
            case CROP_AND_RESIZE -> {
                double k = Math.max((double) w / sw, (double) h / sh);
                int rw = Math.max(w, (int) Math.round(sw * k));
                int rh = Math.max(h, (int) Math.round(sh * k));
                Mat scaled = new Mat();
                Imgproc.resize(src, scaled, new Size(rw, rh), 0, 0, interpolation(sw * sh, rw * rh));
                Mat crop = scaled.submat(new Rect((rw - w) / 2, (rh - h) / 2, w, h));
                crop.copyTo(out);
                crop.release();
                scaled.release();
            }
            case RESIZE_AND_FILL -> {
                double k = Math.min((double) w / sw, (double) h / sh);
                int rw = Math.min(w, Math.max(1, (int) Math.round(sw * k)));
                int rh = Math.min(h, Math.max(1, (int) Math.round(sh * k)));
                Mat scaled = new Mat();
                Imgproc.resize(src, scaled, new Size(rw, rh), 0, 0, interpolation(sw * sh, rw * rh));
                int top = (h - rh) / 2;
                int left = (w - rw) / 2;
                Core.copyMakeBorder(scaled, out, top, h - rh - top, left, w - rw - left, Core.BORDER_REPLICATE, new Scalar(0));
                scaled.release();
            }
            default -> throw new IllegalStateException();
        }
        return out;
    }

    private static int interpolation(long fromPixels, long toPixels) {
        return toPixels < fromPixels ? Imgproc.INTER_AREA : Imgproc.INTER_CUBIC;
    }

    /**
     * sd-webui-controlnet's pixel-perfect rule: the preprocessor resolution that matches the output
     * after resizing, round(k x min(rawH, rawW)) with k the larger (smaller, for resize and fill) of
     * the two scale factors.
     */
    public int pixelPerfectResolution(int rawW, int rawH, int targetW, int targetH) {
        double k0 = (double) targetH / rawH;
        double k1 = (double) targetW / rawW;
        double k = this == RESIZE_AND_FILL ? Math.min(k0, k1) : Math.max(k0, k1);
        return (int) Math.round(k * Math.min(rawH, rawW));
    }
}
