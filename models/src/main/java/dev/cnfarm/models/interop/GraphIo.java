package dev.cnfarm.models.interop;

import java.util.List;

/**
 * One declared input or output of an ONNX graph.
 *
 * @param elemType ONNX element type number (see {@link TensorType#describe})
 * @param dims     fixed sizes as numbers, dynamic ones by their name (or "?" when unnamed)
 */
public record GraphIo(String name, int elemType, List<String> dims) {
    public int rank() {
        return dims.size();
    }

    /** "int64 [batch]", "float32 [] (a scalar)": how errors show a tensor. */
    public String describe() {
        return TensorType.describe(elemType) + " [" + String.join(", ", dims) + "]" + (dims.isEmpty() ? " (a scalar)" : "");
    }
}
