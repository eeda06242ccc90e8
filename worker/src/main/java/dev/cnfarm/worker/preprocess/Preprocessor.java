package dev.cnfarm.worker.preprocess;

import dev.cnfarm.common.preprocess.ParamSpec;

import java.util.List;

/**
 * Turns a user's input into a control map: white structure on black for line maps, RGB 8-bit,
 * the size of the output image. Two kinds: preprocessors of images (the input is decoded and
 * fitted to the output size first, so they detect at the output's resolution, "pixel perfect"),
 * preprocessors of keypoints (OpenPose JSON drawn into a pose map), and annotators that run a
 * network (an ONNX model the worker must have).
 */
public sealed interface Preprocessor permits ImagePreprocessor, KeypointPreprocessor, ModelPreprocessor {
    String name();

    String description();

    List<ParamSpec> params();
}
