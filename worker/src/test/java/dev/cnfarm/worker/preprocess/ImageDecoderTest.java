package dev.cnfarm.worker.preprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.worker.render.BadInputException;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * Bad and unusual images: each either decodes to the RGB it holds, or fails with a reason that
 * says what is wrong with the file (a content failure of its task alone).
 */
class ImageDecoderTest {
    private static final ImageLimits LIMITS = ImageLimits.defaults();

    @BeforeAll
    static void load() {
        OpenCv.load();
    }

    private static int[] px(Mat m, int x, int y) {
        byte[] b = new byte[3];
        m.get(y, x, b);
        return new int[] {b[0] & 0xff, b[1] & 0xff, b[2] & 0xff};
    }

    private static byte[] encode(BufferedImage img, String format) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(img, format, out)).as("ImageIO writes %s", format).isTrue();
        return out.toByteArray();
    }

    private static byte[] pngOf(BufferedImage img) throws Exception {
        return encode(img, "png");
    }

    private static void fails(byte[] data, String reason) {
        assertThatThrownBy(() -> ImageDecoder.decodeRgb(data, LIMITS)).isInstanceOf(BadInputException.class).hasMessageContaining(reason);
    }

    @Test
    void emptyFile() {
        fails(new byte[0], "empty");
    }

    @Test
    void textFile() {
        fails("prompt: a house\nseed: 1\n".getBytes(), "text, not an image");
    }

    @Test
    void randomBytes() {
        byte[] b = new byte[500];
        new java.util.Random(1).nextBytes(b);
        b[0] = 0; // not a text, not a known signature
        fails(b, "not in a known image format");
    }

    @Test
    void truncatedPng() throws Exception {
        byte[] png = pngOf(new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB));
        fails(Arrays.copyOf(png, png.length / 2), "PNG file is damaged or truncated");
    }

    @Test
    void truncatedJpegStillDecodesWhatIsThereOrFails() throws Exception {
        BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        byte[] jpg = encode(img, "jpg");
        byte[] cut = Arrays.copyOf(jpg, jpg.length * 2 / 3);
        try {
            Mat m = ImageDecoder.decodeRgb(cut, LIMITS);
            assertThat(m.cols()).isEqualTo(64); // libjpeg pads a truncated scan
        } catch (BadInputException e) {
            assertThat(e.getMessage()).contains("JPEG");
        }
    }

    @Test
    void decompressionBombHeaderIsRefusedUnread() {
        fails(pngHeader(50000, 50000), "50000x50000");
    }

    @Test
    void oversizedFileIsRefused() {
        byte[] big = new byte[1000];
        big[0] = (byte) 0x89;
        assertThatThrownBy(() -> ImageDecoder.decodeRgb(big, new ImageLimits(500, 1 << 20))).hasMessageContaining("at most 500");
    }

    @Test
    void cmykJpegDecodes() throws Exception {
        // a 4-component JPEG written straight from a raster: what print workflows produce
        WritableRaster raster = Raster.createInterleavedRaster(java.awt.image.DataBuffer.TYPE_BYTE, 32, 32, 4, null);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                raster.setPixel(x, y, new int[] {0, 255, 255, 0});
            }
        }
        ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            w.setOutput(out);
            w.write(null, new IIOImage(raster, null, null), w.getDefaultWriteParam());
        }
        Mat m = ImageDecoder.decodeRgb(bytes.toByteArray(), LIMITS);
        assertThat(m.cols()).isEqualTo(32);
        assertThat(m.channels()).isEqualTo(3);
    }

    @Test
    void sixteenBitPngIsScaledTo8() throws Exception {
        Mat m16 = new Mat(10, 10, CvType.CV_16UC3, new Scalar(65535, 32896, 0)); // BGR
        MatOfByte out = new MatOfByte();
        Imgcodecs.imencode(".png", m16, out);
        Mat rgb = ImageDecoder.decodeRgb(out.toArray(), LIMITS);
        assertThat(px(rgb, 5, 5)).containsExactly(0, 128, 255);
    }

    @Test
    void grayscaleIsReplicated() throws Exception {
        BufferedImage g = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
        g.getRaster().setSample(3, 3, 0, 200);
        Mat rgb = ImageDecoder.decodeRgb(pngOf(g), LIMITS);
        assertThat(px(rgb, 3, 3)).containsExactly(200, 200, 200);
    }

    @Test
    void alphaIsCompositedOnWhite() throws Exception {
        BufferedImage a = new BufferedImage(8, 8, BufferedImage.TYPE_INT_ARGB);
        a.setRGB(1, 1, 0x00FF0000);          // fully transparent red: white
        a.setRGB(2, 2, 0xFF0000FF);          // opaque blue
        Mat rgb = ImageDecoder.decodeRgb(pngOf(a), LIMITS);
        assertThat(px(rgb, 1, 1)).containsExactly(255, 255, 255);
        assertThat(px(rgb, 2, 2)).containsExactly(0, 0, 255);
    }

    @Test
    void webpGifAndBmpDecode() throws Exception {
        Mat bgr = new Mat(16, 16, CvType.CV_8UC3, new Scalar(0, 0, 255)); // red in BGR
        MatOfByte webp = new MatOfByte();
        Imgcodecs.imencode(".webp", bgr, webp, new MatOfInt(Imgcodecs.IMWRITE_WEBP_QUALITY, 101));
        assertThat(px(ImageDecoder.decodeRgb(webp.toArray(), LIMITS), 8, 8)).containsExactly(255, 0, 0);
        BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
        img.setRGB(4, 4, 0x00FF00);
        assertThat(px(ImageDecoder.decodeRgb(encode(img, "bmp"), LIMITS), 4, 4)).containsExactly(0, 255, 0);
        assertThat(px(ImageDecoder.decodeRgb(encode(img, "gif"), LIMITS), 4, 4)).containsExactly(0, 255, 0);
    }

    @Test
    void jpegExifOrientationIsApplied() throws Exception {
        // a 20x10 JPEG whose EXIF says "rotate 90 clockwise" (orientation 6): it decodes as 10x20
        BufferedImage img = new BufferedImage(20, 10, BufferedImage.TYPE_INT_RGB);
        byte[] jpg = encode(img, "jpg");
        byte[] withExif = insertExifOrientation(jpg, 6);
        Mat m = ImageDecoder.decodeRgb(withExif, LIMITS);
        assertThat(m.cols()).isEqualTo(10);
        assertThat(m.rows()).isEqualTo(20);
    }

    /** A minimal valid PNG header (signature, IHDR with the given size, IEND): nothing to decode behind it. */
    static byte[] pngHeader(int w, int h) {
        ByteBuffer b = ByteBuffer.allocate(8 + 25 + 12);
        b.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10});
        ByteBuffer ihdr = ByteBuffer.allocate(17);
        ihdr.put(new byte[] {'I', 'H', 'D', 'R'}).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        b.putInt(13).put(ihdr.array());
        CRC32 crc = new CRC32();
        crc.update(ihdr.array());
        b.putInt((int) crc.getValue());
        b.putInt(0).put(new byte[] {'I', 'E', 'N', 'D'});
        CRC32 crc2 = new CRC32();
        crc2.update(new byte[] {'I', 'E', 'N', 'D'});
        b.putInt((int) crc2.getValue());
        return b.array();
    }

    /** Inserts an APP1 EXIF segment (big-endian TIFF, one IFD entry: Orientation) after the JPEG's SOI. */
    static byte[] insertExifOrientation(byte[] jpg, int orientation) {
        ByteBuffer tiff = ByteBuffer.allocate(8 + 2 + 12 + 4);
        tiff.put(new byte[] {'M', 'M', 0, 42}).putInt(8);
        tiff.putShort((short) 1);
        tiff.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation).putShort((short) 0);
        tiff.putInt(0);
        byte[] exif = ByteBuffer.allocate(6 + tiff.capacity()).put(new byte[] {'E', 'x', 'i', 'f', 0, 0}).put(tiff.array()).array();
        ByteBuffer out = ByteBuffer.allocate(jpg.length + 4 + exif.length);
        out.put(jpg, 0, 2);
        out.put((byte) 0xFF).put((byte) 0xE1).putShort((short) (exif.length + 2)).put(exif);
        out.put(jpg, 2, jpg.length - 2);
        return out.array();
    }

    private static final class MatOfInt extends org.opencv.core.MatOfInt {
        MatOfInt(int... v) {
            super(v);
        }
    }
}
