package dev.cnfarm.worker.preprocess;

import dev.cnfarm.common.preprocess.PreprocessorParams;

import java.nio.file.Path;
import org.opencv.core.Mat;

/** An annotator that runs a network: it needs its ONNX model in the worker's annotator folder. */
public non-sealed interface ModelPreprocessor extends Preprocessor {
    /** The model file it looks for, e.g. {@code depth.onnx}. */
    String modelFile();

    /**
     * @param annotatorDir the folder of annotator models, or null when the worker has none
     * @return a new RGB 8-bit map of the input's size
     */
    Mat apply(Mat rgb, PreprocessorParams params, Path annotatorDir);
}
