package dev.cnfarm.worker.preprocess;

import dev.cnfarm.common.preprocess.PreprocessorParams;

import org.opencv.core.Mat;

/** A preprocessor whose input is keypoints (JSON), drawn into a map. */
public non-sealed interface KeypointPreprocessor extends Preprocessor {
    /** @return an RGB 8-bit map at the canvas size the JSON declares (the caller fits and releases it) */
    Mat draw(byte[] json, PreprocessorParams params);
}
