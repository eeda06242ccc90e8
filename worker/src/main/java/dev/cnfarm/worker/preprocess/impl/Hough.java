package dev.cnfarm.worker.preprocess.impl;

import dev.cnfarm.worker.preprocess.ImagePreprocessor;
import dev.cnfarm.common.preprocess.ParamSpec;
import dev.cnfarm.common.preprocess.PreprocessorParams;
import java.util.List;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Point;
import org.opencv.core.Scalar;
import org.opencv.imgproc.Imgproc;

/**
 * Straight-line maps for the M-LSD ControlNet, without the M-LSD network: Canny edges, then the
 * probabilistic Hough transform, each segment drawn 1 px white on black, as M-LSD's maps are.
 * The thresholds follow M-LSD's in spirit: a score to pass (here the Hough vote, as a fraction of
 * the image's shorter side) and a minimum length (a fraction of the shorter side).
 */
public final class Hough implements ImagePreprocessor {
    @Override
    public String name() {
        return "hough";
    }

    @Override
    public String description() {
        return "straight lines (Canny + probabilistic Hough), white on black";
    }

    @Override
    public List<ParamSpec> params() {
        return dev.cnfarm.common.preprocess.PreprocessorCatalog.params(name());
    }

    @Override
    public Mat apply(Mat rgb, PreprocessorParams p) {
        int side = Math.min(rgb.rows(), rgb.cols());
        Mat edges = new Mat();
        Imgproc.Canny(rgb, edges, 50, 150);
        Mat lines = new Mat();
        int votes = Math.max(1, (int) Math.round(p.getDouble("value_threshold") * side));
        double minLength = Math.max(1, p.getDouble("distance_threshold") * side);
        Imgproc.HoughLinesP(edges, lines, 1, Math.PI / 180, votes, minLength, p.getInt("max_gap"));
        Mat map = Mat.zeros(rgb.rows(), rgb.cols(), CvType.CV_8UC3);
        for (int i = 0; i < lines.rows(); i++) {
            double[] l = lines.get(i, 0);
            Imgproc.line(map, new Point(l[0], l[1]), new Point(l[2], l[3]), new Scalar(255, 255, 255), 1);
        }
        edges.release();
        lines.release();
        return map;
    }
}
