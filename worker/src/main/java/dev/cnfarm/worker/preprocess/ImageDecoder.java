package dev.cnfarm.worker.preprocess;

import dev.cnfarm.worker.render.BadInputException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/**
 * Decodes user images into 8-bit RGB, whatever they are: PNG, JPEG (CMYK and EXIF orientation
 * included), WebP, BMP, TIFF (OpenCV), GIF (ImageIO); grayscale, alpha (composited on white, as ControlNet's HWC3 does),
 * 16-bit (scaled to 8). Sizes are checked before decoding: the file's bytes, and the pixel count
 * its header declares, so a 50000x50000 header is refused without allocating anything. Every
 * failure is a {@link BadInputException} saying what is wrong with the file.
 */
public final class ImageDecoder {
    private ImageDecoder() {}

    /** An RGB, 8-bit, 3-channel image (rows x cols x 3). The caller releases it. */
    public static Mat decodeRgb(byte[] data, ImageLimits limits) {
        OpenCv.load();
        if (data == null || data.length == 0) {
            throw BadInputException.permanent("the image file is empty");
        }
        if (data.length > limits.maxBytes()) {
            throw new BadInputException("the image file has " + data.length + " bytes; at most " + limits.maxBytes() + " are accepted");
        }
        checkDeclaredSize(data, limits);
        boolean jpeg = data.length > 2 && (data[0] & 0xff) == 0xFF && (data[1] & 0xff) == 0xD8;
        // JPEG: let OpenCV apply the EXIF orientation (it does for ANYCOLOR); others: keep alpha (UNCHANGED)
        int flags = jpeg ? Imgcodecs.IMREAD_ANYCOLOR | Imgcodecs.IMREAD_ANYDEPTH : Imgcodecs.IMREAD_UNCHANGED;
        MatOfByte buf = new MatOfByte(data);
        Mat raw;
        try {
            raw = Imgcodecs.imdecode(buf, flags);
        } catch (RuntimeException e) {
            throw BadInputException.permanent("the image cannot be decoded: " + e.getMessage(), e);
        } finally {
            buf.release();
        }
        if (raw == null || raw.empty()) {
            // formats OpenCV 4.9 lacks (GIF) are left to the JDK's ImageIO
            Mat viaImageIo = decodeWithImageIo(data);
            if (viaImageIo == null) {
                throw BadInputException.permanent(describeUndecodable(data));
            }
            raw = viaImageIo;
        }
        try {
            if ((long) raw.rows() * raw.cols() > limits.maxPixels()) {
                throw new BadInputException("the image is " + raw.cols() + "x" + raw.rows() + " pixels; at most " + limits.maxPixels() + " are accepted");
            }
            return toRgb8(raw);
        } finally {
            raw.release();
        }
    }

    /** Reads width and height from the header (ImageIO knows PNG, JPEG, GIF, BMP); other formats are checked after decoding. */
    private static void checkDeclaredSize(byte[] data, ImageLimits limits) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(data))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                return;
            }
            ImageReader r = readers.next();
            try {
                r.setInput(in, true, true);
                long w = r.getWidth(0);
                long h = r.getHeight(0);
                if (w <= 0 || h <= 0) {
                    throw BadInputException.permanent("the image header declares a size of " + w + "x" + h);
                }
                if (w * h > limits.maxPixels()) {
                    throw new BadInputException("the image header declares " + w + "x" + h + " pixels; at most " + limits.maxPixels()
                            + " are accepted (a decompression bomb, or a far larger image than a control image needs)");
                }
            } finally {
                r.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof BadInputException b) {
                throw b;
            }
            // a header ImageIO cannot read: OpenCV gets the file and decides
        }
    }

    /** BGR 8-bit via ImageIO, or null when ImageIO cannot read the file either. */
    private static Mat decodeWithImageIo(byte[] data) {
        java.awt.image.BufferedImage img;
        try {
            img = ImageIO.read(new ByteArrayInputStream(data));
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (img == null) {
            return null;
        }
        int w = img.getWidth();
        int h = img.getHeight();
        byte[] bgr = new byte[3 * w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = img.getRGB(x, y);
                int i = 3 * (y * w + x);
                bgr[i] = (byte) (p & 0xff);
                bgr[i + 1] = (byte) ((p >> 8) & 0xff);
                bgr[i + 2] = (byte) ((p >> 16) & 0xff);
            }
        }
        Mat m = new Mat(h, w, CvType.CV_8UC3);
        m.put(0, 0, bgr);
        return m;
    }

    private static String describeUndecodable(byte[] data) {
        boolean png = data.length > 8 && (data[0] & 0xff) == 0x89 && data[1] == 'P' && data[2] == 'N' && data[3] == 'G';
        boolean jpeg = data.length > 2 && (data[0] & 0xff) == 0xFF && (data[1] & 0xff) == 0xD8;
        if (png || jpeg) {
            return "the " + (png ? "PNG" : "JPEG") + " file is damaged or truncated (" + data.length + " bytes)";
        }
        boolean text = true;
        for (int i = 0; i < Math.min(data.length, 256); i++) {
            int b = data[i] & 0xff;
            if (b < 9 || (b > 13 && b < 32 && b != 27)) {
                text = false;
                break;
            }
        }
        return text ? "the file is text, not an image; control images must be PNG, JPEG, WebP, BMP or TIFF"
                : "the file is not in a known image format (PNG, JPEG, WebP, BMP or TIFF)";
    }

    /** Any depth and channel count to 8-bit RGB: 16-bit scaled, gray replicated, alpha composited on white. */
    static Mat toRgb8(Mat raw) {
        Mat eight = new Mat();
        if (raw.depth() == CvType.CV_16U) {
            raw.convertTo(eight, CvType.CV_8U, 1.0 / 257);
        } else if (raw.depth() == CvType.CV_8U) {
            raw.copyTo(eight);
        } else {
            Core.normalize(raw, eight, 0, 255, Core.NORM_MINMAX, CvType.CV_8U);
        }
        Mat rgb = new Mat();
        try {
            switch (eight.channels()) {
                case 1 -> Imgproc.cvtColor(eight, rgb, Imgproc.COLOR_GRAY2RGB);
                case 3 -> Imgproc.cvtColor(eight, rgb, Imgproc.COLOR_BGR2RGB);
                case 4 -> compositeOnWhite(eight, rgb);
                default -> throw BadInputException.permanent("the image has " + eight.channels() + " channels; 1, 3 or 4 are supported");
            }
            return rgb;
        } finally {
            eight.release();
        }
    }

    private static void compositeOnWhite(Mat bgra, Mat rgbOut) {
        Mat bgr = new Mat();
        Mat alpha = new Mat();
        Mat alpha3 = new Mat();
        Mat white = new Mat(bgra.rows(), bgra.cols(), CvType.CV_32FC3, new Scalar(255, 255, 255));
        Mat fg = new Mat();
        Mat bg = new Mat();
        try {
            Imgproc.cvtColor(bgra, bgr, Imgproc.COLOR_BGRA2BGR);
            Core.extractChannel(bgra, alpha, 3);
            alpha.convertTo(alpha, CvType.CV_32F, 1.0 / 255);
            Imgproc.cvtColor(alpha, alpha3, Imgproc.COLOR_GRAY2BGR);
            bgr.convertTo(fg, CvType.CV_32FC3);
            Core.multiply(fg, alpha3, fg);
            Mat inv = new Mat();
            Core.subtract(new Mat(alpha3.size(), alpha3.type(), new Scalar(1, 1, 1)), alpha3, inv);
            Core.multiply(white, inv, bg);
            inv.release();
            Core.add(fg, bg, fg);
            Mat out8 = new Mat();
            fg.convertTo(out8, CvType.CV_8UC3);
            Imgproc.cvtColor(out8, rgbOut, Imgproc.COLOR_BGR2RGB);
            out8.release();
        } finally {
            bgr.release();
            alpha.release();
            alpha3.release();
            white.release();
            fg.release();
            bg.release();
        }
    }
}
