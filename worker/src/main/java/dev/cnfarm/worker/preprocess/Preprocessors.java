package dev.cnfarm.worker.preprocess;

import dev.cnfarm.common.preprocess.PreprocessorParams;

import dev.cnfarm.worker.preprocess.impl.Canny;
import dev.cnfarm.worker.preprocess.impl.FakeScribble;
import dev.cnfarm.worker.preprocess.impl.Hough;
import dev.cnfarm.worker.preprocess.impl.Invert;
import dev.cnfarm.worker.preprocess.impl.ModelAnnotator;
import dev.cnfarm.worker.preprocess.impl.OpenPose;
import dev.cnfarm.worker.preprocess.impl.Passthrough;
import dev.cnfarm.worker.preprocess.impl.Scribble;
import dev.cnfarm.worker.render.BadInputException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.opencv.core.Mat;

/** The preprocessors by name, and the pipeline from an input file to a control map. */
public final class Preprocessors {
    private static final Map<String, Preprocessor> BY_NAME = new LinkedHashMap<>();

    static {
        for (Preprocessor p : List.of(new Passthrough(), new Canny(), new Hough(), new Scribble(), new FakeScribble(), new Invert(),
                new OpenPose(), ModelAnnotator.softEdge(), ModelAnnotator.depth(), ModelAnnotator.normal(), ModelAnnotator.segmentation(),
                ModelAnnotator.poseEstimation())) {
            BY_NAME.put(p.name(), p);
        }
    }

    private Preprocessors() {}

    public static List<Preprocessor> all() {
        return new ArrayList<>(BY_NAME.values());
    }

    public static Preprocessor get(String name) {
        Preprocessor p = BY_NAME.get(name == null || name.isBlank() ? Passthrough.NAME : name);
        if (p == null) {
            throw new IllegalArgumentException("unknown preprocessor '" + name + "'; known: " + BY_NAME.keySet());
        }
        return p;
    }

    /**
     * The control map of an input file for an output of w x h: decode (or parse keypoints), fit
     * with the resize mode, run the preprocessor. RGB 8-bit, w x h; the caller releases it.
     */
    public static Mat controlMap(String name, byte[] input, Map<String, String> params, int w, int h, ResizeMode mode,
                                 ImageLimits limits, java.nio.file.Path annotatorDir) {
        OpenCv.load();
        Preprocessor p;
        PreprocessorParams resolved;
        try {
            p = get(name);
            resolved = dev.cnfarm.common.preprocess.PreprocessorCatalog.resolve(p.name(), params);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
        if (p instanceof KeypointPreprocessor k) {
            Mat canvas = k.draw(input, resolved);
            try {
                return mode.fit(canvas, w, h);
            } finally {
                canvas.release();
            }
        }
        Mat rgb = ImageDecoder.decodeRgb(input, limits);
        Mat fitted = mode.fit(rgb, w, h);
        rgb.release();
        try {
            if (p instanceof ModelPreprocessor m) {
                return m.apply(fitted, resolved, annotatorDir);
            }
            return ((ImagePreprocessor) p).apply(fitted, resolved);
        } finally {
            fitted.release();
        }
    }

    /** The parameters a preprocessor takes, resolved and in canonical form (for cache keys). */
    public static String canonicalParams(String name, Map<String, String> params) {
        Preprocessor p = get(name);
        return dev.cnfarm.common.preprocess.PreprocessorCatalog.resolve(p.name(), params).canonical();
    }
}
