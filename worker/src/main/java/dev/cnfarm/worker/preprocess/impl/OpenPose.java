package dev.cnfarm.worker.preprocess.impl;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.worker.preprocess.KeypointPreprocessor;
import dev.cnfarm.common.preprocess.ParamSpec;
import dev.cnfarm.common.preprocess.PreprocessorParams;
import dev.cnfarm.worker.render.BadInputException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfPoint;
import org.opencv.core.Point;
import org.opencv.core.Scalar;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

/**
 * Draws OpenPose maps from keypoint JSON, as the OpenPose ControlNets were trained on: the
 * 18-keypoint body (COCO order: nose, neck, right shoulder/elbow/wrist, left shoulder/elbow/wrist,
 * right hip/knee/ankle, left hip/knee/ankle, eyes, ears), 17 limbs as ellipses 4 px wide in the
 * standard palette, keypoints as 4 px discs; optional hands (21 points, edges coloured around the
 * hue circle) and face (70 white dots). Style 1.1 (sd-webui-controlnet, controlnet_aux): limbs at
 * 60 % colour, then keypoints. Style 1.0 (the original repository): keypoints, then each limb
 * blended 60 % over the canvas.
 *
 * <p>Input: {@code {"canvas_width", "canvas_height", "people": [{"pose_keypoints_2d": [x, y, c] x 18,
 * "hand_left_keypoints_2d", "hand_right_keypoints_2d", "face_keypoints_2d"}]}}; coordinates in
 * pixels, or all in [0, 1] (normalised); a keypoint with confidence 0 is missing.
 */
public final class OpenPose implements KeypointPreprocessor {
    /** Limbs as keypoint pairs (0-based), in drawing order; colour i belongs to limb i. */
    static final int[][] LIMBS = {{1, 2}, {1, 5}, {2, 3}, {3, 4}, {5, 6}, {6, 7}, {1, 8}, {8, 9}, {9, 10}, {1, 11}, {11, 12}, {12, 13},
            {1, 0}, {0, 14}, {14, 16}, {0, 15}, {15, 17}};
    /** RGB, as written into the map; colour i for limb i and keypoint i. */
    static final int[][] COLORS = {{255, 0, 0}, {255, 85, 0}, {255, 170, 0}, {255, 255, 0}, {170, 255, 0}, {85, 255, 0}, {0, 255, 0},
            {0, 255, 85}, {0, 255, 170}, {0, 255, 255}, {0, 170, 255}, {0, 85, 255}, {0, 0, 255}, {85, 0, 255}, {170, 0, 255},
            {255, 0, 255}, {255, 0, 170}, {255, 0, 85}};
    static final int[][] HAND_EDGES = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {0, 5}, {5, 6}, {6, 7}, {7, 8}, {0, 9}, {9, 10}, {10, 11}, {11, 12},
            {0, 13}, {13, 14}, {14, 15}, {15, 16}, {0, 17}, {17, 18}, {18, 19}, {19, 20}};
    static final int STICK_WIDTH = 4;
    static final int MAX_CANVAS = 4096;

    @Override
    public String name() {
        return "openpose";
    }

    @Override
    public String description() {
        return "a pose map drawn from OpenPose keypoint JSON (18-point body, optional hands and face)";
    }

    @Override
    public List<ParamSpec> params() {
        return dev.cnfarm.common.preprocess.PreprocessorCatalog.params(name());
    }

    private record Kp(double x, double y) {}

    @Override
    public Mat draw(byte[] json, PreprocessorParams p) {
        JsonNode root;
        try {
            root = Json.mapper().readTree(json);
        } catch (IOException e) {
            throw new BadInputException("the openpose input is not JSON: " + String.valueOf(e.getMessage()).split("\n")[0]);
        }
        if (root == null || !root.isObject() || !root.path("people").isArray()) {
            throw new BadInputException("the openpose input needs {\"canvas_width\", \"canvas_height\", \"people\": [...]}");
        }
        int w = root.path("canvas_width").asInt(0);
        int h = root.path("canvas_height").asInt(0);
        if (w < 1 || h < 1 || w > MAX_CANVAS || h > MAX_CANVAS) {
            throw new BadInputException("openpose canvas_width and canvas_height must be 1 to " + MAX_CANVAS + ", got " + w + "x" + h);
        }
        boolean v10 = p.get("style").equals("1.0");
        Mat canvas = Mat.zeros(h, w, CvType.CV_8UC3);
        for (JsonNode person : root.get("people")) {
            List<Kp> body = keypoints(person.path("pose_keypoints_2d"), 18, w, h, "pose_keypoints_2d");
            if (v10) {
                drawKeypoints(canvas, body);
                drawLimbs10(canvas, body);
            } else {
                drawLimbs11(canvas, body);
                drawKeypoints(canvas, body);
            }
            if (p.get("hands").equals("include")) {
                for (String side : List.of("hand_left_keypoints_2d", "hand_right_keypoints_2d")) {
                    if (person.has(side)) {
                        drawHand(canvas, keypoints(person.get(side), 21, w, h, side));
                    }
                }
            }
            if (p.get("face").equals("include") && person.has("face_keypoints_2d")) {
                for (Kp k : keypoints(person.get("face_keypoints_2d"), 70, w, h, "face_keypoints_2d")) {
                    if (k != null) {
                        Imgproc.circle(canvas, new Point(k.x(), k.y()), 3, new Scalar(255, 255, 255), -1);
                    }
                }
            }
        }
        return canvas;
    }

    /** Triples (x, y, confidence) to points; null where the confidence is 0 (missing). */
    private static List<Kp> keypoints(JsonNode flat, int count, int w, int h, String field) {
        List<Kp> out = new ArrayList<>();
        if (!flat.isArray() || flat.size() == 0) {
            for (int i = 0; i < count; i++) {
                out.add(null);
            }
            return out;
        }
        if (flat.size() != 3 * count) {
            throw new BadInputException("openpose " + field + " must hold " + count + " keypoints as x, y, confidence ("
                    + 3 * count + " numbers), it holds " + flat.size());
        }
        boolean normalised = true;
        for (int i = 0; i < count; i++) {
            if (flat.get(3 * i + 2).asDouble() > 0 && (flat.get(3 * i).asDouble() > 1 || flat.get(3 * i + 1).asDouble() > 1)) {
                normalised = false;
            }
        }
        for (int i = 0; i < count; i++) {
            double x = flat.get(3 * i).asDouble();
            double y = flat.get(3 * i + 1).asDouble();
            double c = flat.get(3 * i + 2).asDouble();
            out.add(c <= 0 ? null : normalised ? new Kp(x * w, y * h) : new Kp(x, y));
        }
        return out;
    }

    private static MatOfPoint limbPolygon(Kp a, Kp b) {
        double mx = (a.x() + b.x()) / 2;
        double my = (a.y() + b.y()) / 2;
        double length = Math.hypot(a.x() - b.x(), a.y() - b.y());
        int angle = (int) Math.round(Math.toDegrees(Math.atan2(a.y() - b.y(), a.x() - b.x())));
        MatOfPoint poly = new MatOfPoint();
        Imgproc.ellipse2Poly(new Point(mx, my), new Size(length / 2, STICK_WIDTH), angle, 0, 360, 1, poly);
        return poly;
    }

    private static void drawLimbs11(Mat canvas, List<Kp> body) {
        for (int i = 0; i < LIMBS.length; i++) {
            Kp a = body.get(LIMBS[i][0]);
            Kp b = body.get(LIMBS[i][1]);
            if (a == null || b == null) {
                continue;
            }
            MatOfPoint poly = limbPolygon(a, b);
            int[] c = COLORS[i];
            Imgproc.fillConvexPoly(canvas, poly, new Scalar(c[0] * 0.6, c[1] * 0.6, c[2] * 0.6));
            poly.release();
        }
    }

    private static void drawLimbs10(Mat canvas, List<Kp> body) {
        for (int i = 0; i < LIMBS.length; i++) {
            Kp a = body.get(LIMBS[i][0]);
            Kp b = body.get(LIMBS[i][1]);
            if (a == null || b == null) {
                continue;
            }
            Mat layer = canvas.clone();
            MatOfPoint poly = limbPolygon(a, b);
            int[] c = COLORS[i];
            Imgproc.fillConvexPoly(layer, poly, new Scalar(c[0], c[1], c[2]));
            Core.addWeighted(canvas, 0.4, layer, 0.6, 0, canvas);
            poly.release();
            layer.release();
        }
    }

    private static void drawKeypoints(Mat canvas, List<Kp> body) {
        for (int i = 0; i < body.size(); i++) {
            Kp k = body.get(i);
            if (k != null) {
                int[] c = COLORS[i];
                Imgproc.circle(canvas, new Point(k.x(), k.y()), 4, new Scalar(c[0], c[1], c[2]), -1);
            }
        }
    }

    private static void drawHand(Mat canvas, List<Kp> hand) {
        for (int e = 0; e < HAND_EDGES.length; e++) {
            Kp a = hand.get(HAND_EDGES[e][0]);
            Kp b = hand.get(HAND_EDGES[e][1]);
            if (a != null && b != null) {
                int rgb = java.awt.Color.HSBtoRGB(e / (float) HAND_EDGES.length, 1f, 1f);
                Imgproc.line(canvas, new Point(a.x(), a.y()), new Point(b.x(), b.y()),
                        new Scalar((rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff), 2);
            }
        }
        for (Kp k : hand) {
            if (k != null) {
                Imgproc.circle(canvas, new Point(k.x(), k.y()), 4, new Scalar(0, 0, 255), -1);
            }
        }
    }
}
