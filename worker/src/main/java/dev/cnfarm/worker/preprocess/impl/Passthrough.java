package dev.cnfarm.worker.preprocess.impl;

import dev.cnfarm.worker.preprocess.ImagePreprocessor;
import dev.cnfarm.common.preprocess.ParamSpec;
import dev.cnfarm.common.preprocess.PreprocessorParams;
import java.util.List;
import org.opencv.core.Mat;

/** The user gives the control map itself (an edge map, a pose map, a depth map...). */
public final class Passthrough implements ImagePreprocessor {
    public static final String NAME = "passthrough";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "the image is the control map (only fitted to the output size)";
    }

    @Override
    public List<ParamSpec> params() {
        return dev.cnfarm.common.preprocess.PreprocessorCatalog.params(name());
    }

    @Override
    public Mat apply(Mat rgb, PreprocessorParams params) {
        return rgb.clone();
    }
}
