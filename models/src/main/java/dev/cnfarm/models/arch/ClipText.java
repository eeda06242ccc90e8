package dev.cnfarm.models.arch;

import dev.cnfarm.models.nn.Layers;
import dev.cnfarm.models.nn.Layers.Params;
import dev.cnfarm.models.onnx.Attr;
import dev.cnfarm.models.onnx.GraphBuilder;
import dev.cnfarm.models.onnx.Init;
import dev.cnfarm.models.onnx.Value;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto.DataType;
import java.util.List;

/**
 * CLIPTextModel (the SD1.5 text encoder): token and position embeddings, pre-norm transformer
 * layers with causal self-attention and quick-GELU MLPs, final LayerNorm. SD1.5 conditions on
 * {@code last_hidden_state}; {@code pooler_output} is the hidden state at the first end-of-text
 * token (the largest id), as CLIP computes it.
 */
public final class ClipText {
    private ClipText() {}

    public record Outputs(Value lastHiddenState, Value pooled) {}

    /** @param ids token ids [B, L] (int64), L = max_position_embeddings */
    public static Outputs forward(GraphBuilder g, String component, Value ids, ClipTextConfig c) {
        Params root = new Params(component, "text_model");
        long b = ids.dim(0);
        long l = ids.dim(1);
        long d = c.hiddenSize();
        Params emb = root.at("embeddings");
        Value tokens = g.param(component, emb.at("token_embedding").prefix() + ".weight", new long[] {c.vocabSize(), d}, Init.EMBEDDING, d);
        Value positions = g.param(component, emb.at("position_embedding").prefix() + ".weight",
                new long[] {c.maxPositionEmbeddings(), d}, Init.EMBEDDING, d);
        Value h = g.node("Gather", List.of(tokens, ids), new long[] {b, l, d}, Attr.i("axis", 0));
        h = g.node("Add", List.of(h, positions), h.shape());
        Value mask = g.constant("causal_mask", causalMask((int) l), l, l);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            Params layer = root.at("encoder.layers." + i);
            try (var s = g.scope(layer.prefix())) {
                Value a = Layers.attention(g, layer.at("self_attn"), Layers.layerNorm(g, layer.at("layer_norm1"), h, c.layerNormEps()),
                        null, c.numAttentionHeads(), true, mask, "q_proj", "k_proj", "v_proj", "out_proj");
                h = Layers.add(g, h, a);
                Value m = Layers.linear(g, layer.at("mlp.fc1"), Layers.layerNorm(g, layer.at("layer_norm2"), h, c.layerNormEps()),
                        c.intermediateSize(), true);
                m = Layers.linear(g, layer.at("mlp.fc2"), Layers.quickGelu(g, m), d, true);
                h = Layers.add(g, h, m);
            }
        }
        Value last = Layers.layerNorm(g, root.at("final_layer_norm"), h, c.layerNormEps());
        // pooled: the hidden state at argmax(ids), the first end-of-text token
        Value eos = g.node("ArgMax", List.of(ids), new long[] {b, 1}, DataType.INT64, Attr.i("axis", 1), Attr.i("keepdims", 1));
        Value idx = g.node("Expand", List.of(g.node("Unsqueeze", List.of(eos, g.constantInt64("axes", new long[] {2}, 1)),
                new long[] {b, 1, 1}, DataType.INT64), g.constantInt64("expand", new long[] {1, 1, d}, 3)), new long[] {b, 1, d}, DataType.INT64);
        Value picked = g.node("GatherElements", List.of(last, idx), new long[] {b, 1, d}, Attr.i("axis", 1));
        Value pooled = g.node("Squeeze", List.of(picked, g.constantInt64("axes", new long[] {1}, 1)), new long[] {b, d});
        return new Outputs(last, pooled);
    }

    /** 0 on and below the diagonal, a large negative number above: token i sees tokens 0..i. */
    static float[] causalMask(int l) {
        float[] m = new float[l * l];
        for (int i = 0; i < l; i++) {
            for (int j = i + 1; j < l; j++) {
                m[i * l + j] = -1e9f;
            }
        }
        return m;
    }
}
