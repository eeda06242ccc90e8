package dev.cnfarm.models.weights;

import dev.cnfarm.models.onnx.ParamSpec;

/** Supplies the values of a parameter, in PyTorch layout, as float32. */
@FunctionalInterface
public interface WeightSource {
    float[] values(ParamSpec spec);
}
