package dev.cnfarm.worker.preprocess.impl;

import dev.cnfarm.worker.preprocess.ImagePreprocessor;
import dev.cnfarm.common.preprocess.ParamSpec;
import dev.cnfarm.common.preprocess.PreprocessorParams;
import java.util.ArrayList;
import java.util.List;
import org.opencv.core.Core;
import org.opencv.core.Mat;
import org.opencv.imgproc.Imgproc;

/**
 * A user's scribble: dark strokes on a light page become white strokes on black, where the
 * darkest channel of a pixel is under the threshold (127, as the ControlNet scribble app does).
 */
public final class Scribble implements ImagePreprocessor {
    @Override
    public String name() {
        return "scribble";
    }

    @Override
    public String description() {
        return "a drawing's dark strokes as white strokes on black";
    }

    @Override
    public List<ParamSpec> params() {
        return dev.cnfarm.common.preprocess.PreprocessorCatalog.params(name());
    }

    @Override
    public Mat apply(Mat rgb, PreprocessorParams p) {
        List<Mat> channels = new ArrayList<>();
        Core.split(rgb, channels);
        Mat min = new Mat();
        Core.min(channels.get(0), channels.get(1), min);
        Core.min(min, channels.get(2), min);
        channels.forEach(Mat::release);
        Mat strokes = new Mat();
        // dark (below the threshold) becomes 255
        Imgproc.threshold(min, strokes, p.getInt("threshold") - 1, 255, Imgproc.THRESH_BINARY_INV);
        min.release();
        return Maps.grayToRgb(strokes);
    }
}
