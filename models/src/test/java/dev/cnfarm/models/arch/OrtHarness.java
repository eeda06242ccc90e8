package dev.cnfarm.models.arch;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Runs a model in ONNX Runtime (CPU) on float and int64 inputs, for the graph tests. */
final class OrtHarness implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    OrtHarness(byte[] model) throws OrtException {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(2);
            session = env.createSession(model, o);
        }
    }

    OrtHarness(String path) throws OrtException {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(2);
            session = env.createSession(path, o);
        }
    }

    record Input(long[] shape, float[] floats, long[] longs) {
        static Input floats(long[] shape, float[] v) {
            return new Input(shape, v, null);
        }

        static Input longs(long[] shape, long[] v) {
            return new Input(shape, null, v);
        }
    }

    /** Runs and returns every output as a flat float array. */
    Map<String, float[]> run(Map<String, Input> inputs) throws OrtException {
        Map<String, OnnxTensor> tensors = new HashMap<>();
        try {
            for (Map.Entry<String, Input> e : inputs.entrySet()) {
                Input in = e.getValue();
                tensors.put(e.getKey(), in.floats() != null
                        ? OnnxTensor.createTensor(env, FloatBuffer.wrap(in.floats()), in.shape())
                        : OnnxTensor.createTensor(env, LongBuffer.wrap(in.longs()), in.shape()));
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

    static float[] random(SplittableRandom rnd, int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
        }
        return a;
    }

    static int size(long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return (int) n;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
