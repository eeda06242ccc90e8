package dev.cnfarm.worker.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.interop.Contracts;
import dev.cnfarm.models.interop.DiffusersOnnxModel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One UNet evaluation of the split ControlNet form: each ControlNet the step uses runs in its own
 * session, its residuals are scaled per batch item and residual (the same scales the merged graph
 * takes: conditioning scale, control modes, guess mode) and summed on the host, and the UNet runs
 * with the sums. ControlNets a job does not use, or that are outside their window, are not run at
 * all; a step with none feeds the UNet zero residuals, which makes it the plain UNet.
 */
final class SplitStep {
    private final BundleSessions sessions;
    private final List<DiffusersOnnxModel.ControlNetGraph> graphs;
    private final Contracts.UNet unet;
    /** Residual shapes by sample shape, so a step without ControlNet can make zeros of the right shape. */
    private final Map<String, Map<String, long[]>> shapesBySize = new HashMap<>();
    private int controlNetRuns;

    SplitStep(BundleSessions sessions, Contracts.UNet unet) {
        this.sessions = sessions;
        this.graphs = sessions.model().splitControlnets();
        this.unet = unet;
    }

    /** ControlNet session runs so far (tests count them: unused ControlNets must not run). */
    int controlNetRuns() {
        return controlNetRuns;
    }

    /**
     * @param scales    [N, items, R] for this step, or null when no ControlNet is active
     * @param images    each slot's control images for every batch item [items, 3, H, W], null for slots no item uses
     * @return the noise prediction [items, 4, h, w]
     */
    float[] run(OrtEnvironment env, float[] sample, long[] sampleShape, double t, int items, float[] context, int d,
                List<float[]> images, int height, int width, float[] scales) throws OrtException {
        int r = unet.residualInputs().size();
        float[][] sums = new float[r][];
        Map<String, long[]> shapes = shapesBySize.computeIfAbsent(java.util.Arrays.toString(sampleShape), k -> new HashMap<>());
        try (OnnxTensor s = Tensors.floats(env, sample, sampleShape, unet.sampleType());
             OnnxTensor ts = Tensors.timestep(env, t, items, unet);
             OnnxTensor ctx = Tensors.floats(env, context, new long[] {items, 77, d}, unet.contextType())) {
            for (int c = 0; scales != null && c < graphs.size(); c++) {
                if (c >= images.size() || images.get(c) == null || allZero(scales, c, items, r)) {
                    continue;
                }
                addResiduals(env, c, sample, sampleShape, t, items, context, d, images.get(c), height, width, scales, sums, shapes);
            }
            List<OnnxTensor> residuals = new ArrayList<>();
            try {
                Map<String, OnnxTensor> in = new HashMap<>();
                in.put(unet.sample(), s);
                in.put(unet.timestep(), ts);
                in.put(unet.context(), ctx);
                for (int k = 0; k < r; k++) {
                    String name = unet.residualInputs().get(k);
                    long[] shape = shapes.computeIfAbsent(name, n -> zeroShape(n, sampleShape));
                    float[] v = sums[k] != null ? sums[k] : new float[Math.toIntExact(count(shape))];
                    OnnxTensor tensor = Tensors.floats(env, v, shape, unet.sampleType());
                    residuals.add(tensor);
                    in.put(name, tensor);
                }
                try (OrtSession.Result out = sessions.unet().run(in, Set.of(unet.output()))) {
                    return Tensors.read((OnnxTensor) out.get(unet.output()).orElseThrow());
                }
            } finally {
                residuals.forEach(OnnxTensor::close);
            }
        }
    }

    private void addResiduals(OrtEnvironment env, int c, float[] sample, long[] sampleShape, double t, int items, float[] context, int d,
                              float[] batchImage, int height, int width, float[] scales, float[][] sums, Map<String, long[]> shapes)
            throws OrtException {
        DiffusersOnnxModel.ControlNetGraph g = graphs.get(c);
        Contracts.UNet in = g.inputs();
        List<OnnxTensor> open = new ArrayList<>();
        try {
            Map<String, OnnxTensor> feed = new HashMap<>();
            feed.put(in.sample(), keep(open, Tensors.floats(env, sample, sampleShape, in.sampleType())));
            feed.put(in.timestep(), keep(open, Tensors.timestep(env, t, items, in)));
            feed.put(in.context(), keep(open, Tensors.floats(env, context, new long[] {items, 77, d}, in.contextType())));
            feed.put(g.controlInput(), keep(open, Tensors.floats(env, batchImage, new long[] {items, 3, height, width}, g.controlType())));
            if (g.scaleInput() != null) {
                feed.put(g.scaleInput(), keep(open, Tensors.floats(env, new float[] {1f}, g.scaleRank() == 0 ? new long[0] : new long[] {1},
                        g.scaleType())));
            }
            int r = g.residuals().size();
            try (OrtSession.Result out = sessions.splitControlnet(c).run(feed, Set.copyOf(g.residuals()))) {
                controlNetRuns++;
                for (int k = 0; k < r; k++) {
                    OnnxTensor v = (OnnxTensor) out.get(g.residuals().get(k)).orElseThrow();
                    float[] x = Tensors.read(v);
                    shapes.put(unet.residualInputs().get(k), v.getInfo().getShape());
                    if (sums[k] == null) {
                        sums[k] = new float[x.length];
                    }
                    int per = x.length / items;
                    for (int item = 0; item < items; item++) {
                        float scale = scales[(c * items + item) * r + k];
                        if (scale == 0f) {
                            continue;
                        }
                        for (int j = item * per, end = j + per; j < end; j++) {
                            sums[k][j] += x[j] * scale;
                        }
                    }
                }
            }
        } finally {
            open.forEach(OnnxTensor::close);
        }
    }

    private static OnnxTensor keep(List<OnnxTensor> open, OnnxTensor t) {
        open.add(t);
        return t;
    }

    private static boolean allZero(float[] scales, int c, int items, int r) {
        for (int i = c * items * r, end = i + items * r; i < end; i++) {
            if (scales[i] != 0f) {
                return false;
            }
        }
        return true;
    }

    /**
     * The shape of a residual before any ControlNet has run at this size: its level (from the
     * UNet's layers per block) halves the latent's size that many times; its channels are what
     * the UNet declares.
     */
    private long[] zeroShape(String name, long[] sampleShape) {
        int index = unet.residualInputs().indexOf(name);
        int level = unet.residualLevels().get(index);
        long channels = unet.residualChannels().get(index);
        long h = sampleShape[2];
        long w = sampleShape[3];
        for (int i = 0; i < level; i++) {
            h = (h + 1) / 2;
            w = (w + 1) / 2;
        }
        return new long[] {sampleShape[0], channels, h, w};
    }

    private static long count(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }
}
