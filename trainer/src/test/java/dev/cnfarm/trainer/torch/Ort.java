package dev.cnfarm.trainer.torch;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.ParamWriters;
import dev.cnfarm.models.weights.WeightSource;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/** Runs a graph of the ONNX backend in ONNX Runtime (CPU), for comparing it with libtorch. */
public final class Ort implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    public Ort(GraphBuilder g, WeightSource weights) throws OrtException {
        byte[] model = g.build(ParamWriters.inline(weights, g.storage()), "parity test", Map.of()).toByteArray();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(2);
            session = env.createSession(model, o);
        }
    }

    /** Inputs are float[] or long[] values with their shapes. */
    public record In(long[] shape, Object values) {}

    public Map<String, float[]> run(Map<String, In> inputs) throws OrtException {
        Map<String, OnnxTensor> tensors = new HashMap<>();
        try {
            for (Map.Entry<String, In> e : inputs.entrySet()) {
                In in = e.getValue();
                tensors.put(e.getKey(), in.values() instanceof float[] f
                        ? OnnxTensor.createTensor(env, FloatBuffer.wrap(f), in.shape())
                        : OnnxTensor.createTensor(env, LongBuffer.wrap((long[]) in.values()), in.shape()));
            }
            Map<String, float[]> out = new LinkedHashMap<>();
            try (OrtSession.Result r = session.run(tensors)) {
                for (Map.Entry<String, ai.onnxruntime.OnnxValue> e : r) {
                    FloatBuffer fb = ((OnnxTensor) e.getValue()).getFloatBuffer();
                    float[] a = new float[fb.remaining()];
                    fb.get(a);
                    out.put(e.getKey(), a);
                }
            }
            return out;
        } finally {
            tensors.values().forEach(OnnxTensor::close);
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }

    /** max |a - b| over max |b|: the error relative to the output's scale. */
    public static double relativeError(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("lengths differ: " + a.length + " and " + b.length);
        }
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / Math.max(scale, 1e-12);
    }
}
