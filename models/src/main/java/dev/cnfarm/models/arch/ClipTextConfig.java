package dev.cnfarm.models.arch;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/** CLIPTextModel settings under transformers' config keys (openai/clip-vit-large-patch14 for SD1.5). */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
                             int maxPositionEmbeddings, float layerNormEps) {

    public static ClipTextConfig sd15() {
        return new ClipTextConfig(49408, 768, 3072, 12, 12, 77, 1e-5f);
    }

    /** Same vocabulary (token ids stay valid), a sliver of the width and depth. */
    public static ClipTextConfig tiny() {
        return new ClipTextConfig(49408, 32, 64, 2, 2, 77, 1e-5f);
    }
}
