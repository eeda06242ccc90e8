package dev.cnfarm.worker.preprocess;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.worker.render.BadInputException;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import javax.imageio.ImageIO;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;
import org.opencv.core.CvType;
import org.opencv.core.Mat;

/**
 * Property tests (jqwik) of the image decoder on damaged files: small PNG, JPEG, BMP and GIF
 * images with bytes flipped, cut short, or with stretches overwritten, and random bytes behind a
 * real file signature. Each either decodes to an 8-bit 3-channel image within the limits or is
 * refused with a {@link BadInputException}; nothing else escapes, and the native decoders do not
 * bring the JVM down.
 */
class ImageDecoderFuzzTest {
    private static final ImageLimits LIMITS = new ImageLimits(1024 * 1024, 4096L * 4096);
    private static final List<byte[]> SEEDS = List.of(encode("png"), encode("jpg"), encode("bmp"), encode("gif"));

    @Property(tries = 3000)
    void anyDamagedImageDecodesOrIsRefused(@ForAll("damaged") byte[] data) {
        Mat m;
        try {
            m = ImageDecoder.decodeRgb(data, LIMITS);
        } catch (BadInputException e) {
            assertThat(e.getMessage()).isNotBlank();
            Statistics.collect("refused");
            return;
        } finally {
            Statistics.coverage(c -> {
                c.check("decoded").percentage(p -> p > 5);
                c.check("refused").percentage(p -> p > 5);
            });
        }
        Statistics.collect("decoded");
        try {
            assertThat(m.type()).isEqualTo(CvType.CV_8UC3);
            assertThat((long) m.rows() * m.cols()).isPositive().isLessThanOrEqualTo(LIMITS.maxPixels());
        } finally {
            m.release();
        }
    }

    @Provide
    Arbitrary<byte[]> damaged() {
        Arbitrary<byte[]> seed = Arbitraries.of(SEEDS);
        Arbitrary<byte[]> flipped = Combinators.combine(seed, Arbitraries.integers().between(0, 10_000).list().ofMinSize(1).ofMaxSize(8),
                Arbitraries.bytes()).as((s, at, b) -> {
                    byte[] d = s.clone();
                    at.forEach(i -> d[i % d.length] ^= (byte) (b | 1));
                    return d;
                });
        Arbitrary<byte[]> cut = Combinators.combine(seed, Arbitraries.doubles().between(0, 1))
                .as((s, f) -> java.util.Arrays.copyOf(s, Math.max(1, (int) (s.length * f))));
        Arbitrary<byte[]> overwritten = Combinators.combine(seed, Arbitraries.integers().between(0, 10_000),
                Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(64)).as((s, at, junk) -> {
                    byte[] d = s.clone();
                    for (int i = 0; i < junk.length; i++) {
                        d[(at + i) % d.length] = junk[i];
                    }
                    return d;
                });
        Arbitrary<byte[]> signatureThenJunk = Combinators.combine(seed, Arbitraries.bytes().array(byte[].class).ofMaxSize(300))
                .as((s, junk) -> {
                    byte[] d = java.util.Arrays.copyOf(s, 16 + junk.length);
                    System.arraycopy(junk, 0, d, 16, junk.length);
                    return d;
                });
        return Arbitraries.frequencyOf(Tuple.of(3, flipped), Tuple.of(2, cut), Tuple.of(3, overwritten), Tuple.of(2, signatureThenJunk));
    }

    private static byte[] encode(String format) {
        BufferedImage img = new BufferedImage(48, 32, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 48; x++) {
                img.setRGB(x, y, (x * 5) << 16 | (y * 7) << 8 | ((x + y) * 3));
            }
        }
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (!ImageIO.write(img, format, out)) {
                throw new IllegalStateException("ImageIO cannot write " + format);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
