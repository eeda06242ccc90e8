package dev.cnfarm.loadtests.preprocess;

import dev.cnfarm.loadtests.report.Charts;
import dev.cnfarm.loadtests.report.Stopwatch;
import dev.cnfarm.worker.preprocess.ControlMaps;
import dev.cnfarm.worker.preprocess.ImageDecoder;
import dev.cnfarm.worker.preprocess.ImageLimits;
import dev.cnfarm.worker.preprocess.ModelPreprocessor;
import dev.cnfarm.worker.preprocess.OpenCv;
import dev.cnfarm.worker.preprocess.Preprocessor;
import dev.cnfarm.worker.preprocess.Preprocessors;
import dev.cnfarm.worker.preprocess.ResizeMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Point;
import org.opencv.core.Scalar;
import org.opencv.imgproc.Imgproc;

/**
 * Milliseconds per 512x512 control map for each preprocessor that needs no network, on a
 * photo-like test image (gradients, shapes, lines, noise) encoded as PNG, decode and fit included.
 */
public final class PreprocessBenchmark {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--root")) {
                root = Path.of(args[++i]);
            }
        }
        OpenCv.load();
        Path reportDir = root.resolve("load-tests/reports/preprocess");
        Files.createDirectories(reportDir);
        byte[] photo = ControlMaps.encodePng(testImage(640, 480));
        byte[] pose = poseJson().getBytes(StandardCharsets.UTF_8);
        ImageLimits limits = ImageLimits.defaults();
        Map<String, Double> ms = new LinkedHashMap<>();
        // the whole set twice: the first pass warms OpenCV's thread pool and the JIT, the second is reported
        for (int pass = 0; pass < 2; pass++) {
            ms.clear();
            measure(ms, photo, pose, limits);
        }
        StringBuilder md = new StringBuilder("# Preprocessors\n\nRun ").append(LocalDateTime.now().withNano(0)).append(" on ")
                .append(Runtime.getRuntime().availableProcessors()).append(" cores, OpenCV ").append(org.opencv.core.Core.VERSION)
                .append(". Median of 30 runs after 5, one thread calling. Input: a 640x480 PNG test image (openpose: an 18-keypoint JSON), "
                        + "decoded, fitted to 512x512 (crop and resize) and preprocessed.\n\n| preprocessor | ms per 512x512 map |\n|---|---|\n");
        ms.forEach((k, v) -> md.append(String.format("| %s | %.2f |%n", k, v)));
        md.append("\nModel annotators (soft_edge, depth, normal, segmentation, pose_estimation) need their networks and are not timed here.\n\n"
                + "![ms](preprocess.png)\n");
        Charts.bars(reportDir.resolve("preprocess.png"), "Control maps, 512x512, CPU", "milliseconds", ms);
        Files.writeString(reportDir.resolve("README.md"), md);
        System.out.println(md);
    }

    private static void measure(Map<String, Double> ms, byte[] photo, byte[] pose, ImageLimits limits) throws Exception {
        Stopwatch.Timing decode = Stopwatch.time(5, 30, () -> ImageDecoder.decodeRgb(photo, limits).release());
        ms.put("decode only (640x480 PNG)", decode.median() * 1000);
        for (Preprocessor p : Preprocessors.all()) {
            if (p instanceof ModelPreprocessor) {
                continue;
            }
            byte[] input = p.name().equals("openpose") ? pose : photo;
            Stopwatch.Timing t = Stopwatch.time(5, 30, () -> Preprocessors.controlMap(p.name(), input, Map.of(), 512, 512,
                    ResizeMode.CROP_AND_RESIZE, limits, null).release());
            ms.put(p.name(), t.median() * 1000);
        }
    }

    static Mat testImage(int w, int h) {
        Mat m = new Mat(h, w, CvType.CV_8UC3);
        byte[] px = new byte[3 * w * h];
        Random r = new Random(1);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = 3 * (y * w + x);
                px[i] = (byte) (x * 255 / w);
                px[i + 1] = (byte) (y * 255 / h);
                px[i + 2] = (byte) (128 + r.nextInt(20));
            }
        }
        m.put(0, 0, px);
        Imgproc.rectangle(m, new Point(100, 100), new Point(300, 260), new Scalar(250, 240, 230), -1);
        Imgproc.circle(m, new Point(450, 300), 90, new Scalar(30, 60, 200), -1);
        Imgproc.line(m, new Point(0, 400), new Point(640, 380), new Scalar(10, 10, 10), 4);
        return m;
    }

    static String poseJson() {
        double[][] k = {{256, 80}, {256, 140}, {200, 140}, {180, 220}, {170, 300}, {312, 140}, {332, 220}, {342, 300}, {226, 280},
                {226, 380}, {226, 480}, {286, 280}, {286, 380}, {286, 480}, {246, 70}, {266, 70}, {236, 80}, {276, 80}};
        StringBuilder s = new StringBuilder();
        for (double[] p : k) {
            s.append(s.length() == 0 ? "" : ",").append(p[0]).append(',').append(p[1]).append(",1");
        }
        return "{\"canvas_width\":512,\"canvas_height\":512,\"people\":[{\"pose_keypoints_2d\":[" + s + "]}]}";
    }
}
