package dev.cnfarm.models.interop;

import dev.cnfarm.models.arch.ModelGraphs;
import java.util.List;

/**
 * What the engine must feed each graph of a Stable Diffusion model and what it reads back: names,
 * element types and the timestep's form. The farm's own bundles have one fixed contract
 * ({@link #NATIVE_UNET}, ...); a diffusers ONNX export declares its own, read by
 * {@link DiffusersOnnxModel}.
 */
public final class Contracts {
    private Contracts() {}

    /** How a graph takes the timestep: a scalar, a one-element tensor, or one per batch item. */
    public enum TimestepShape {
        SCALAR, ONE, BATCH;

        public String label() {
            return switch (this) {
                case SCALAR -> "scalar";
                case ONE -> "[1]";
                case BATCH -> "[batch]";
            };
        }
    }

    /**
     * @param residualInputs   the ControlNet residual inputs of a UNet of the split form (12 down, then
     *                         the mid block's), empty for a plain UNet
     * @param residualChannels the channels of each residual input, as the graph declares them
     * @param residualLevels   the resolution level of each residual input (0: the latent's size, each
     *                         level half the one before), from the UNet's layers_per_block
     */
    public record UNet(String sample, TensorType sampleType, String timestep, TensorType timestepType, TimestepShape timestepShape,
                       String context, TensorType contextType, String output, TensorType outputType, List<String> residualInputs,
                       List<Long> residualChannels, List<Integer> residualLevels) {
        public String describe() {
            return "sample " + sampleType.label() + ", timestep " + timestepType.label() + " " + timestepShape.label()
                    + ", encoder_hidden_states " + contextType.label() + " -> " + output + " " + outputType.label()
                    + (residualInputs.isEmpty() ? "" : ", " + residualInputs.size() + " ControlNet residual inputs");
        }
    }

    public record Text(String ids, TensorType idsType, String hidden, TensorType hiddenType) {
        public String describe() {
            return ids + " " + idsType.label() + " -> " + hidden + " " + hiddenType.label();
        }
    }

    public record Vae(String latent, TensorType latentType, String image, TensorType imageType) {
        public String describe() {
            return latent + " " + latentType.label() + " -> " + image + " " + imageType.label();
        }
    }

    public static final UNet NATIVE_UNET = new UNet(ModelGraphs.SAMPLE, TensorType.FLOAT32, ModelGraphs.TIMESTEP, TensorType.FLOAT32,
            TimestepShape.ONE, ModelGraphs.CONTEXT, TensorType.FLOAT32, ModelGraphs.NOISE_PRED, TensorType.FLOAT32, List.of(), List.of(), List.of());
    public static final Text NATIVE_TEXT = new Text(ModelGraphs.INPUT_IDS, TensorType.INT64, ModelGraphs.LAST_HIDDEN, TensorType.FLOAT32);
    public static final Vae NATIVE_VAE = new Vae(ModelGraphs.LATENT_SAMPLE, TensorType.FLOAT32, ModelGraphs.SAMPLE, TensorType.FLOAT32);
}
