package dev.cnfarm.worker.preprocess;

import dev.cnfarm.common.preprocess.PreprocessorParams;

import org.opencv.core.Mat;

/** A preprocessor of images. */
public non-sealed interface ImagePreprocessor extends Preprocessor {
    /**
     * @param rgb the input image, RGB 8-bit, already at the output size
     * @return a new RGB 8-bit map of the same size (the caller releases both)
     */
    Mat apply(Mat rgb, PreprocessorParams params);
}
