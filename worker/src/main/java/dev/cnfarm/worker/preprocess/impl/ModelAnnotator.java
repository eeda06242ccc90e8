package dev.cnfarm.worker.preprocess.impl;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.worker.preprocess.ModelPreprocessor;
import dev.cnfarm.common.preprocess.ParamSpec;
import dev.cnfarm.common.preprocess.PreprocessorParams;
import dev.cnfarm.worker.render.BadInputException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

/**
 * Annotators that are networks (soft edge/HED, depth, normal, segmentation, pose estimation), run
 * through ONNX Runtime from {@code <annotator folder>/<name>.onnx}. The model contract: one input
 * [1, 3, H, W], RGB in [0, 1], dynamic H and W; one output [1, C, h, w]: C = 1 is a gray map
 * (stretched to 0..255, bright = near for depth, strong for edges), C = 3 an RGB map in [0, 1]
 * (normals, segmentation colours, pose drawings). Without the model the task fails with what to add.
 */
public final class ModelAnnotator implements ModelPreprocessor {
    private final String name;
    private final String description;
    private final String what;

    private ModelAnnotator(String name, String description, String what) {
        this.name = name;
        this.description = description;
        this.what = what;
    }

    public static ModelAnnotator softEdge() {
        return new ModelAnnotator("soft_edge", "soft edges (HED or PiDiNet network)", "a soft-edge network (HED, PiDiNet)");
    }

    public static ModelAnnotator depth() {
        return new ModelAnnotator("depth", "depth map, near is bright (MiDaS, ZoeDepth, Depth Anything)", "a depth-estimation network");
    }

    public static ModelAnnotator normal() {
        return new ModelAnnotator("normal", "surface normals as RGB (NormalBAE)", "a normal-estimation network");
    }

    public static ModelAnnotator segmentation() {
        return new ModelAnnotator("segmentation", "semantic segmentation in the ADE20K palette", "a segmentation network");
    }

    public static ModelAnnotator poseEstimation() {
        return new ModelAnnotator("pose_estimation", "pose map estimated from a photo (DWPose, OpenPose)", "a pose-estimation network");
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String description() {
        return description + "; needs annotators/" + modelFile();
    }

    @Override
    public String modelFile() {
        return name + ".onnx";
    }

    @Override
    public List<ParamSpec> params() {
        return dev.cnfarm.common.preprocess.PreprocessorCatalog.params(name());
    }

    @Override
    public Mat apply(Mat rgb, PreprocessorParams params, Path annotatorDir) {
        Path model = annotatorDir == null ? null : annotatorDir.resolve(modelFile());
        if (model == null || !Files.isRegularFile(model)) {
            throw new BadInputException("preprocessor '" + name + "' needs " + what + " as an ONNX model: add "
                    + (annotatorDir == null ? "annotators/" + modelFile() + " to the worker's model folder" : model)
                    + " (input [1,3,H,W] RGB in [0,1], output [1,1,H,W] or [1,3,H,W]), or send the map itself with preprocessor passthrough");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int h = rgb.rows();
        int w = rgb.cols();
        float[] chw = new float[3 * h * w];
        byte[] px = new byte[3 * h * w];
        rgb.get(0, 0, px);
        for (int i = 0; i < h * w; i++) {
            for (int c = 0; c < 3; c++) {
                chw[c * h * w + i] = (px[3 * i + c] & 0xff) / 255f;
            }
        }
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions();
             OrtSession s = env.createSession(model.toString(), o);
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(chw), new long[] {1, 3, h, w})) {
            String input = s.getInputNames().iterator().next();
            try (OrtSession.Result r = s.run(Map.of(input, in))) {
                OnnxTensor out = (OnnxTensor) r.get(0);
                long[] shape = out.getInfo().getShape();
                if (shape.length != 4 || shape[0] != 1 || (shape[1] != 1 && shape[1] != 3)) {
                    throw new BadInputException("annotator model " + model + " gave an output of shape " + java.util.Arrays.toString(shape)
                            + "; it must be [1,1,H,W] or [1,3,H,W]");
                }
                FloatBuffer fb = out.getFloatBuffer();
                float[] v = new float[fb.remaining()];
                fb.get(v);
                return toMap(v, (int) shape[1], (int) shape[2], (int) shape[3], w, h);
            }
        } catch (OrtException e) {
            throw new BadInputException("annotator model " + model + " failed: " + e.getMessage(), e);
        }
    }

    private static Mat toMap(float[] v, int c, int oh, int ow, int w, int h) {
        Mat map;
        if (c == 1) {
            Mat f = new Mat(oh, ow, CvType.CV_32F);
            f.put(0, 0, v);
            map = new Mat();
            Core.normalize(f, map, 0, 255, Core.NORM_MINMAX, CvType.CV_8U);
            f.release();
            Mat rgb = new Mat();
            Imgproc.cvtColor(map, rgb, Imgproc.COLOR_GRAY2RGB);
            map.release();
            map = rgb;
        } else {
            byte[] px = new byte[3 * oh * ow];
            int plane = oh * ow;
            for (int i = 0; i < plane; i++) {
                for (int k = 0; k < 3; k++) {
                    px[3 * i + k] = (byte) Math.round(Math.max(0, Math.min(1, v[k * plane + i])) * 255);
                }
            }
            map = new Mat(oh, ow, CvType.CV_8UC3);
            map.put(0, 0, px);
        }
        if (oh != h || ow != w) {
            Mat resized = new Mat();
            Imgproc.resize(map, resized, new Size(w, h), 0, 0, Imgproc.INTER_LINEAR);
            map.release();
            return resized;
        }
        return map;
    }
}
