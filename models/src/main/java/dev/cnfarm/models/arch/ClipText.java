package dev.cnfarm.models.arch;

import dev.cnfarm.models.nn.Blocks;
import dev.cnfarm.models.nn.Nn;
import dev.cnfarm.models.nn.Params;

/**
 * CLIPTextModel (the SD1.5 text encoder), described once over {@link Nn}: token and position
 * embeddings, pre-norm transformer layers with causal self-attention and quick-GELU MLPs, final
 * LayerNorm. SD1.5 conditions on {@code last_hidden_state}; {@code pooler_output} is the hidden
 * state at the first end-of-text token (the largest id), as CLIP computes it.
 */
public final class ClipText {
    private ClipText() {}

    public record Outputs<T>(T lastHiddenState, T pooled) {}

    /** @param ids token ids [B, L] (int64), L = max_position_embeddings */
    public static <T> Outputs<T> forward(Nn<T> nn, String component, T ids, ClipTextConfig c) {
        Params root = new Params(component, "text_model");
        long d = c.hiddenSize();
        Params emb = root.at("embeddings");
        T h = nn.embedding(emb.at("token_embedding"), ids, c.vocabSize(), d);
        h = nn.addPositionEmbedding(emb.at("position_embedding"), h, c.maxPositionEmbeddings());
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            Params layer = root.at("encoder.layers." + i);
            try (var s = nn.scope(layer.prefix())) {
                T a = Blocks.attention(nn, layer.at("self_attn"), nn.layerNorm(layer.at("layer_norm1"), h, c.layerNormEps()),
                        null, c.numAttentionHeads(), true, true, "q_proj", "k_proj", "v_proj", "out_proj");
                h = nn.add(h, a);
                T m = nn.linear(layer.at("mlp.fc1"), nn.layerNorm(layer.at("layer_norm2"), h, c.layerNormEps()),
                        c.intermediateSize(), true);
                m = nn.linear(layer.at("mlp.fc2"), nn.quickGelu(m), d, true);
                h = nn.add(h, m);
            }
        }
        T last = nn.layerNorm(root.at("final_layer_norm"), h, c.layerNormEps());
        return new Outputs<>(last, nn.pickAtArgmax(last, ids));
    }
}
