package dev.cnfarm.models.onnx;

import dev.cnfarm.models.onnx.proto.Onnx.TensorProto.DataType;
import java.util.Arrays;

/**
 * A tensor in a graph being built: its name, and its shape at the graph's reference size. The
 * reference shape is what the builder checks layers against and counts FLOPs with; the ONNX graph
 * itself keeps batch and spatial sizes dynamic where its inputs do.
 */
public record Value(String name, long[] shape, DataType type) {

    public int rank() {
        return shape.length;
    }

    /** Dimension {@code i}; negative counts from the end. */
    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public long elements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
