package dev.cnfarm.models.onnx;

import dev.cnfarm.models.onnx.proto.Onnx.TensorProto;

/** Turns a parameter into its initializer: values inline in the graph, or a reference to external data. */
@FunctionalInterface
public interface ParamWriter {
    TensorProto tensor(ParamSpec spec);
}
