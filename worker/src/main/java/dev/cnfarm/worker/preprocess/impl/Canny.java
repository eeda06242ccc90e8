package dev.cnfarm.worker.preprocess.impl;

import dev.cnfarm.worker.preprocess.ImagePreprocessor;
import dev.cnfarm.common.preprocess.ParamSpec;
import dev.cnfarm.common.preprocess.PreprocessorParams;
import java.util.List;
import org.opencv.core.Mat;
import org.opencv.imgproc.Imgproc;

/**
 * Canny edges as the ControlNet canny models were trained on: OpenCV's Canny on the RGB image
 * (aperture 3, L1 gradient), thresholds 100/200 by default, white edges on black.
 */
public final class Canny implements ImagePreprocessor {
    @Override
    public String name() {
        return "canny";
    }

    @Override
    public String description() {
        return "Canny edges, white on black";
    }

    @Override
    public List<ParamSpec> params() {
        return dev.cnfarm.common.preprocess.PreprocessorCatalog.params(name());
    }

    @Override
    public Mat apply(Mat rgb, PreprocessorParams p) {
        Mat edges = new Mat();
        Imgproc.Canny(rgb, edges, p.getInt("low"), p.getInt("high"));
        return Maps.grayToRgb(edges);
    }
}
