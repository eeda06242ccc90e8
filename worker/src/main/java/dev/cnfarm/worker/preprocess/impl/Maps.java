package dev.cnfarm.worker.preprocess.impl;

import org.opencv.core.Mat;
import org.opencv.imgproc.Imgproc;

/** Small helpers shared by the preprocessors. */
final class Maps {
    private Maps() {}

    /** A single-channel map as RGB (ControlNet's HWC3); releases the input. */
    static Mat grayToRgb(Mat gray) {
        Mat rgb = new Mat();
        Imgproc.cvtColor(gray, rgb, Imgproc.COLOR_GRAY2RGB);
        gray.release();
        return rgb;
    }

    static Mat toGray(Mat rgb) {
        Mat gray = new Mat();
        Imgproc.cvtColor(rgb, gray, Imgproc.COLOR_RGB2GRAY);
        return gray;
    }
}
