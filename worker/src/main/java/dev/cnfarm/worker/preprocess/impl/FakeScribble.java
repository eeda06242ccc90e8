package dev.cnfarm.worker.preprocess.impl;

import dev.cnfarm.worker.preprocess.ImagePreprocessor;
import dev.cnfarm.common.preprocess.ParamSpec;
import dev.cnfarm.common.preprocess.PreprocessorParams;
import java.util.List;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

/**
 * A scribble made from a photo, the way ControlNet's fake-scribble annotator makes it: a soft
 * edge map, non-maximum suppression (blur sigma 3, keep pixels that are the maximum along one of
 * four directions and above 127), blur sigma 3 again, and every pixel above 4 set white. The soft
 * edges come from the Sobel gradient magnitude here (the original uses HED, a network; with a HED
 * model in the bundle, use soft_edge and scribble that instead).
 */
public final class FakeScribble implements ImagePreprocessor {
    @Override
    public String name() {
        return "fake_scribble";
    }

    @Override
    public String description() {
        return "a scribble drawn from a photo's edges (soft edges, suppression, blur, binarise)";
    }

    @Override
    public List<ParamSpec> params() {
        return dev.cnfarm.common.preprocess.PreprocessorCatalog.params(name());
    }

    @Override
    public Mat apply(Mat rgb, PreprocessorParams p) {
        double sigma = p.getDouble("sigma");
        Mat soft = softEdges(rgb);
        Mat nms = suppress(soft, p.getInt("threshold"), sigma);
        soft.release();
        Mat blurred = new Mat();
        Imgproc.GaussianBlur(nms, blurred, new Size(0, 0), sigma);
        nms.release();
        Mat out = new Mat();
        Imgproc.threshold(blurred, out, 4, 255, Imgproc.THRESH_BINARY);
        blurred.release();
        return Maps.grayToRgb(out);
    }

    /** Sobel gradient magnitude of the gray image, scaled to 0..255. */
    static Mat softEdges(Mat rgb) {
        Mat gray = Maps.toGray(rgb);
        Mat gx = new Mat();
        Mat gy = new Mat();
        Imgproc.Sobel(gray, gx, CvType.CV_32F, 1, 0);
        Imgproc.Sobel(gray, gy, CvType.CV_32F, 0, 1);
        Mat mag = new Mat();
        Core.magnitude(gx, gy, mag);
        Mat out = new Mat();
        Core.normalize(mag, out, 0, 255, Core.NORM_MINMAX, CvType.CV_8U);
        gray.release();
        gx.release();
        gy.release();
        mag.release();
        return out;
    }

    /**
     * ControlNet's nms(x, t, s): keep blurred pixels that equal their dilation along any of 4
     * directions, above t. The blurred map is stretched to 0..255 first: Sobel edges are thinner
     * than HED's, and the blur would otherwise leave none above the threshold.
     */
    static Mat suppress(Mat x, int t, double s) {
        Mat blurred = new Mat();
        Imgproc.GaussianBlur(x, blurred, new Size(0, 0), s);
        Core.normalize(blurred, blurred, 0, 255, Core.NORM_MINMAX, CvType.CV_8U);
        int[][][] kernels = {
                {{0, 0, 0}, {1, 1, 1}, {0, 0, 0}},
                {{0, 1, 0}, {0, 1, 0}, {0, 1, 0}},
                {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}},
                {{0, 0, 1}, {0, 1, 0}, {1, 0, 0}}};
        Mat keep = Mat.zeros(x.size(), CvType.CV_8U);
        for (int[][] k : kernels) {
            Mat kernel = new Mat(3, 3, CvType.CV_8U);
            for (int r = 0; r < 3; r++) {
                for (int c = 0; c < 3; c++) {
                    kernel.put(r, c, k[r][c]);
                }
            }
            Mat dilated = new Mat();
            Imgproc.dilate(blurred, dilated, kernel);
            Mat equal = new Mat();
            Core.compare(blurred, dilated, equal, Core.CMP_EQ);
            Core.bitwise_or(keep, equal, keep);
            kernel.release();
            dilated.release();
            equal.release();
        }
        Mat strong = new Mat();
        Core.compare(blurred, new org.opencv.core.Scalar(t), strong, Core.CMP_GT);
        Mat out = new Mat();
        Core.bitwise_and(keep, strong, out);
        blurred.release();
        keep.release();
        strong.release();
        return out;
    }
}
