package dev.cnfarm.worker.preprocess.impl;

import dev.cnfarm.worker.preprocess.ImagePreprocessor;
import dev.cnfarm.common.preprocess.ParamSpec;
import dev.cnfarm.common.preprocess.PreprocessorParams;
import java.util.List;
import org.opencv.core.Core;
import org.opencv.core.Mat;

/** 255 - image: turns black-on-white line art into the white-on-black maps ControlNet models expect. */
public final class Invert implements ImagePreprocessor {
    @Override
    public String name() {
        return "invert";
    }

    @Override
    public String description() {
        return "inverts the image (black lines on white become white lines on black)";
    }

    @Override
    public List<ParamSpec> params() {
        return dev.cnfarm.common.preprocess.PreprocessorCatalog.params(name());
    }

    @Override
    public Mat apply(Mat rgb, PreprocessorParams params) {
        Mat out = new Mat();
        Core.bitwise_not(rgb, out);
        return out;
    }
}
