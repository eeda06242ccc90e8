package dev.cnfarm.worker.preprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.worker.render.BadInputException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Point;
import org.opencv.core.Rect;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/** Golden-image tests: each preprocessor on an image this test draws, checked where the structure must be. */
class PreprocessorsTest {
    private static final ImageLimits LIMITS = ImageLimits.defaults();

    @BeforeAll
    static void load() {
        OpenCv.load();
    }

    /** PNG bytes of an RGB image (converted to OpenCV's BGR order to encode). */
    static byte[] png(Mat rgb) {
        Mat bgr = new Mat();
        Imgproc.cvtColor(rgb, bgr, Imgproc.COLOR_RGB2BGR);
        MatOfByte out = new MatOfByte();
        Imgcodecs.imencode(".png", bgr, out);
        bgr.release();
        return out.toArray();
    }

    static int[] px(Mat m, int x, int y) {
        byte[] b = new byte[3];
        m.get(y, x, b);
        return new int[] {b[0] & 0xff, b[1] & 0xff, b[2] & 0xff};
    }

    private static Mat map(String name, byte[] input, Map<String, String> params, int w, int h) {
        return Preprocessors.controlMap(name, input, params, w, h, ResizeMode.JUST_RESIZE, LIMITS, null);
    }

    @Test
    void cannyFindsTheEdgesOfARectangle() {
        Mat img = Mat.zeros(128, 128, CvType.CV_8UC3);
        Imgproc.rectangle(img, new Point(32, 32), new Point(95, 95), new Scalar(255, 255, 255), -1);
        Mat m = map("canny", png(img), Map.of(), 128, 128);
        boolean edgeNearLeftSide = false;
        for (int x = 30; x <= 34; x++) {
            edgeNearLeftSide |= px(m, x, 64)[0] == 255;
        }
        assertThat(edgeNearLeftSide).as("an edge along x = 32").isTrue();
        assertThat(px(m, 64, 64)).as("inside the rectangle").containsExactly(0, 0, 0);
        assertThat(px(m, 10, 10)).as("outside").containsExactly(0, 0, 0);
        assertThat(Imgproc.boundingRect(nonZero(m)).width).isBetween(60, 70);
    }

    @Test
    void houghDrawsTheStraightLinesOnly() {
        Mat img = Mat.zeros(200, 200, CvType.CV_8UC3);
        Imgproc.line(img, new Point(20, 50), new Point(180, 50), new Scalar(255, 255, 255), 2);
        Imgproc.line(img, new Point(100, 80), new Point(100, 190), new Scalar(255, 255, 255), 2);
        Mat m = map("hough", png(img), Map.of(), 200, 200);
        assertThat(whiteNear(m, 100, 50, 3)).as("on the horizontal line").isTrue();
        assertThat(whiteNear(m, 100, 140, 3)).as("on the vertical line").isTrue();
        assertThat(px(m, 160, 150)).as("away from both").containsExactly(0, 0, 0);
        assertThat(px(m, 40, 120)).containsExactly(0, 0, 0);
    }

    @Test
    void scribbleTurnsDarkStrokesWhiteOnBlack() {
        Mat img = new Mat(100, 100, CvType.CV_8UC3, new Scalar(250, 250, 250));
        Imgproc.line(img, new Point(10, 10), new Point(90, 90), new Scalar(20, 20, 20), 3);
        Mat m = map("scribble", png(img), Map.of(), 100, 100);
        assertThat(px(m, 50, 50)).containsExactly(255, 255, 255);
        assertThat(px(m, 80, 20)).containsExactly(0, 0, 0);
    }

    @Test
    void fakeScribbleOutlinesShapes() {
        Mat img = Mat.zeros(128, 128, CvType.CV_8UC3);
        Imgproc.circle(img, new Point(64, 64), 30, new Scalar(200, 200, 200), -1);
        Mat m = map("fake_scribble", png(img), Map.of(), 128, 128);
        assertThat(whiteNear(m, 34, 64, 4)).as("on the circle's outline").isTrue();
        assertThat(px(m, 64, 64)).as("inside").containsExactly(0, 0, 0);
        assertThat(px(m, 5, 5)).as("far outside").containsExactly(0, 0, 0);
    }

    @Test
    void invertAndPassthrough() {
        Mat img = new Mat(10, 10, CvType.CV_8UC3, new Scalar(10, 100, 250));
        assertThat(px(map("invert", png(img), Map.of(), 10, 10), 5, 5)).containsExactly(245, 155, 5);
        assertThat(px(map("passthrough", png(img), Map.of(), 10, 10), 5, 5)).containsExactly(10, 100, 250);
    }

    static String pose(boolean normalised) {
        // a standing figure: nose, neck, right arm (image left), left arm, hips, legs, eyes, ears
        double[][] k = {{100, 40}, {100, 70}, {70, 70}, {60, 110}, {55, 150}, {130, 70}, {140, 110}, {145, 150}, {85, 140}, {85, 190},
                {85, 240}, {115, 140}, {115, 190}, {115, 240}, {95, 35}, {105, 35}, {90, 40}, {110, 40}};
        StringBuilder s = new StringBuilder();
        for (double[] p : k) {
            s.append(s.length() == 0 ? "" : ",").append(normalised ? p[0] / 200 : p[0]).append(',').append(normalised ? p[1] / 260 : p[1]).append(",1");
        }
        return "{\"canvas_width\":200,\"canvas_height\":260,\"people\":[{\"pose_keypoints_2d\":[" + s + "]}]}";
    }

    @Test
    void openPoseDrawsLimbsInThePaletteAndKeypointsOnTop() {
        Mat m = Preprocessors.controlMap("openpose", pose(false).getBytes(StandardCharsets.UTF_8), Map.of(), 200, 260,
                ResizeMode.JUST_RESIZE, LIMITS, null);
        // limb 0 is neck (100,70) to right shoulder (70,70): colour 0 at 60 %
        assertThat(px(m, 85, 70)).containsExactly((int) Math.round(255 * 0.6), 0, 0);
        // limb 7 is right hip (85,140) to right knee (85,190): colour 7 (0,255,85) at 60 %
        assertThat(px(m, 85, 165)).containsExactly(0, (int) Math.round(255 * 0.6), (int) Math.round(85 * 0.6));
        // keypoint 4 (right wrist) at full colour 4 (170,255,0)
        assertThat(px(m, 55, 150)).containsExactly(170, 255, 0);
        assertThat(px(m, 190, 10)).as("background").containsExactly(0, 0, 0);
        // normalised coordinates give the same map
        Mat n = Preprocessors.controlMap("openpose", pose(true).getBytes(StandardCharsets.UTF_8), Map.of(), 200, 260,
                ResizeMode.JUST_RESIZE, LIMITS, null);
        assertThat(px(n, 85, 70)).containsExactly(px(m, 85, 70));
        // style 1.0: the limb blended 60 % over black, keypoints drawn first (limb over them)
        Mat v10 = Preprocessors.controlMap("openpose", pose(false).getBytes(StandardCharsets.UTF_8), Map.of("style", "1.0"), 200, 260,
                ResizeMode.JUST_RESIZE, LIMITS, null);
        assertThat(px(v10, 85, 70)).containsExactly(153, 0, 0);
    }

    @Test
    void openPoseRefusesBrokenInputWithTheReason() {
        assertThatThrownBy(() -> Preprocessors.controlMap("openpose", "not json".getBytes(), Map.of(), 64, 64, ResizeMode.JUST_RESIZE, LIMITS, null))
                .isInstanceOf(BadInputException.class).hasMessageContaining("not JSON");
        assertThatThrownBy(() -> Preprocessors.controlMap("openpose",
                "{\"canvas_width\":64,\"canvas_height\":64,\"people\":[{\"pose_keypoints_2d\":[1,2,3]}]}".getBytes(), Map.of(), 64, 64,
                ResizeMode.JUST_RESIZE, LIMITS, null))
                .hasMessageContaining("18 keypoints");
    }

    @Test
    void resizeModesGiveTheExpectedGeometry() {
        // 200x100 red with a green block at x 0..19, y 40..59
        Mat img = new Mat(100, 200, CvType.CV_8UC3, new Scalar(255, 0, 0));
        Imgproc.rectangle(img, new Rect(0, 40, 20, 20), new Scalar(0, 255, 0), -1);
        byte[] in = png(img);
        Mat just = Preprocessors.controlMap("passthrough", in, Map.of(), 100, 100, ResizeMode.JUST_RESIZE, LIMITS, null);
        assertThat(px(just, 4, 50)).containsExactly(0, 255, 0);
        Mat crop = Preprocessors.controlMap("passthrough", in, Map.of(), 100, 100, ResizeMode.CROP_AND_RESIZE, LIMITS, null);
        assertThat(px(crop, 4, 50)).as("the block was cropped away").containsExactly(255, 0, 0);
        Mat fill = Preprocessors.controlMap("passthrough", in, Map.of(), 100, 100, ResizeMode.RESIZE_AND_FILL, LIMITS, null);
        assertThat(px(fill, 4, 50)).as("scaled by half into the middle band").containsExactly(0, 255, 0);
        assertThat(px(fill, 4, 30)).as("above it: the image, scaled").containsExactly(255, 0, 0);
        assertThat(fill.rows()).isEqualTo(100);
        assertThat(ResizeMode.CROP_AND_RESIZE.pixelPerfectResolution(1024, 768, 512, 512)).isEqualTo(512);
        assertThat(ResizeMode.RESIZE_AND_FILL.pixelPerfectResolution(1024, 768, 512, 512)).isEqualTo(384);
        assertThat(ResizeMode.of("Resize and Fill")).isEqualTo(ResizeMode.RESIZE_AND_FILL);
    }

    @Test
    void parametersAreCheckedByName() {
        Mat img = Mat.zeros(8, 8, CvType.CV_8UC3);
        assertThatThrownBy(() -> map("canny", png(img), Map.of("lo", "10"), 8, 8))
                .isInstanceOf(BadInputException.class).hasMessageContaining("'lo'").hasMessageContaining("[low, high]");
        assertThatThrownBy(() -> map("canny", png(img), Map.of("low", "300"), 8, 8)).hasMessageContaining("from 1 to 255");
        assertThatThrownBy(() -> map("canny", png(img), Map.of("low", "ten"), 8, 8)).hasMessageContaining("whole number");
        assertThatThrownBy(() -> map("sharpen", png(img), Map.of(), 8, 8)).hasMessageContaining("unknown preprocessor 'sharpen'");
        assertThat(Preprocessors.canonicalParams("canny", Map.of("high", "150"))).isEqualTo("high=150,low=100");
    }

    @Test
    void modelAnnotatorsWithoutTheirModelSayWhatToAdd() {
        Mat img = Mat.zeros(8, 8, CvType.CV_8UC3);
        assertThatThrownBy(() -> map("depth", png(img), Map.of(), 8, 8))
                .isInstanceOf(BadInputException.class).hasMessageContaining("depth.onnx").hasMessageContaining("passthrough");
        assertThat(Preprocessors.all()).extracting(Preprocessor::name)
                .contains("canny", "hough", "scribble", "fake_scribble", "openpose", "passthrough", "invert", "soft_edge", "depth",
                        "normal", "segmentation", "pose_estimation");
    }

    private static boolean whiteNear(Mat m, int x, int y, int r) {
        for (int dy = -r; dy <= r; dy++) {
            for (int dx = -r; dx <= r; dx++) {
                int xx = x + dx;
                int yy = y + dy;
                if (xx >= 0 && yy >= 0 && xx < m.cols() && yy < m.rows() && px(m, xx, yy)[0] == 255) {
                    return true;
                }
            }
        }
        return false;
    }

    private static Mat nonZero(Mat rgb) {
        Mat gray = new Mat();
        Imgproc.cvtColor(rgb, gray, Imgproc.COLOR_RGB2GRAY);
        Mat points = new Mat();
        org.opencv.core.Core.findNonZero(gray, points);
        return points;
    }

    @Test
    void modelAnnotatorRunsTheModelFoundInTheAnnotatorFolder(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        // a stand-in "depth network": the mean of the RGB channels, [1,3,H,W] -> [1,1,H,W]
        dev.cnfarm.models.onnx.GraphBuilder g = new dev.cnfarm.models.onnx.GraphBuilder("depth");
        dev.cnfarm.models.onnx.Value in = g.input("image", dev.cnfarm.models.onnx.proto.Onnx.TensorProto.DataType.FLOAT,
                new long[] {1, 3, 8, 8}, 1, 3, "h", "w");
        dev.cnfarm.models.onnx.Value mean = g.node("ReduceMean", List.of(in), new long[] {1, 1, 8, 8},
                dev.cnfarm.models.onnx.Attr.ints("axes", 1), dev.cnfarm.models.onnx.Attr.i("keepdims", 1));
        g.output(mean, "depth", 1, 1, "h", "w");
        java.nio.file.Files.write(dir.resolve("depth.onnx"), g.build(spec -> null, "test", Map.of()).toByteArray());
        Mat img = Mat.zeros(32, 32, CvType.CV_8UC3);
        Imgproc.rectangle(img, new Rect(16, 0, 16, 32), new Scalar(200, 200, 200), -1);
        Mat m = Preprocessors.controlMap("depth", png(img), Map.of(), 32, 32, ResizeMode.JUST_RESIZE, LIMITS, dir);
        assertThat(px(m, 24, 16)).as("the bright half, stretched to 255").containsExactly(255, 255, 255);
        assertThat(px(m, 8, 16)).containsExactly(0, 0, 0);
    }

    @Test
    void everyCatalogueEntryHasAnImplementationAndBack() {
        assertThat(names()).containsExactlyElementsOf(dev.cnfarm.common.preprocess.PreprocessorCatalog.names());
    }

    static List<String> names() {
        return Preprocessors.all().stream().map(Preprocessor::name).toList();
    }
}
