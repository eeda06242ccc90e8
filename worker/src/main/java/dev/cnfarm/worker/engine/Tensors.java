package dev.cnfarm.worker.engine;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.platform.Fp16Conversions;
import dev.cnfarm.models.interop.Contracts;
import dev.cnfarm.models.interop.TensorType;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;

/**
 * Input tensors in the element type a graph declares (float32 or float16 floats, int64 or int32
 * ids, the timestep in any of the four), and float outputs read back as float32, so the engine
 * computes in float32 whatever the graph's contract.
 */
final class Tensors {
    private Tensors() {}

    static OnnxTensor floats(OrtEnvironment env, float[] data, long[] shape, TensorType type) throws OrtException {
        if (type == TensorType.FLOAT16) {
            return OnnxTensor.createTensor(env, Fp16Conversions.convertFloatBufferToFp16Buffer(FloatBuffer.wrap(data)), shape,
                    OnnxJavaType.FLOAT16);
        }
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape);
    }

    static OnnxTensor ids(OrtEnvironment env, long[] ids, long[] shape, TensorType type) throws OrtException {
        if (type == TensorType.INT32) {
            int[] narrow = new int[ids.length];
            for (int i = 0; i < ids.length; i++) {
                narrow[i] = Math.toIntExact(ids[i]);
            }
            return OnnxTensor.createTensor(env, IntBuffer.wrap(narrow), shape);
        }
        return OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
    }

    /**
     * The timestep as the UNet takes it. Integer graphs get it rounded to the nearest step: the
     * schedulers with integer timesteps (DDIM, DPM++, UniPC) lose nothing; Euler's fractional
     * timesteps are then approximated, as in every pipeline that feeds such a graph.
     */
    static OnnxTensor timestep(OrtEnvironment env, double t, int items, Contracts.UNet c) throws OrtException {
        int n = c.timestepShape() == Contracts.TimestepShape.BATCH ? items : 1;
        long[] shape = c.timestepShape() == Contracts.TimestepShape.SCALAR ? new long[0] : new long[] {n};
        return switch (c.timestepType()) {
            case FLOAT32, FLOAT16 -> {
                float[] v = new float[n];
                java.util.Arrays.fill(v, (float) t);
                yield floats(env, v, shape, c.timestepType());
            }
            case INT64 -> {
                long[] v = new long[n];
                java.util.Arrays.fill(v, Math.round(t));
                yield OnnxTensor.createTensor(env, LongBuffer.wrap(v), shape);
            }
            case INT32 -> {
                int[] v = new int[n];
                java.util.Arrays.fill(v, (int) Math.round(t));
                yield OnnxTensor.createTensor(env, IntBuffer.wrap(v), shape);
            }
        };
    }

    /** A float32 or float16 output as float32 values. */
    static float[] read(OnnxTensor t) {
        FloatBuffer fb;
        if (t.getInfo().type == OnnxJavaType.FLOAT16) {
            ShortBuffer raw = t.getShortBuffer();
            fb = Fp16Conversions.convertFp16BufferToFloatBuffer(raw);
        } else {
            fb = t.getFloatBuffer();
        }
        float[] out = new float[fb.remaining()];
        fb.get(out);
        return out;
    }
}
