package dev.cnfarm.models.onnx;

/** How a parameter is initialised when no trained weights are given. */
public enum Init {
    /** uniform in +-1/sqrt(fan_in), PyTorch's default for Linear and Conv weights */
    WEIGHT,
    /** uniform in +-1/sqrt(fan_in), PyTorch's default for biases */
    BIAS,
    /** norm scales */
    ONES,
    /** norm shifts */
    ZEROS,
    /** ControlNet's zero convolutions (weights and biases): zero, as in the paper, unless asked otherwise */
    ZERO_CONV,
    /** token and position embeddings: normal with standard deviation 0.02 */
    EMBEDDING
}
