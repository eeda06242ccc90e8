package dev.cnfarm.worker.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.interop.Contracts;
import dev.cnfarm.worker.engine.text.PromptTokenizer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Prompt to text-encoder hidden states [77, D], with an LRU cache of embeddings: bulk jobs repeat
 * their prompts (and nearly always their negative prompt), so most lookups skip the encoder.
 */
public final class TextEncoder {
    private final PromptTokenizer tokenizer;
    private final OrtSession session;
    private final Map<String, float[]> cache;
    private final Contracts.Text contract;
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();

    public TextEncoder(PromptTokenizer tokenizer, OrtSession session, int cacheSize) {
        this(tokenizer, session, cacheSize, Contracts.NATIVE_TEXT);
    }

    /** @param contract the encoder graph's input and output names and types */
    public TextEncoder(PromptTokenizer tokenizer, OrtSession session, int cacheSize, Contracts.Text contract) {
        this.tokenizer = tokenizer;
        this.contract = contract;
        this.session = session;
        this.cache = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, float[]> eldest) {
                return size() > cacheSize;
            }
        };
    }

    /** The last hidden state of the prompt, [77 x D] row-major. */
    public float[] encode(String prompt) {
        String key = prompt == null ? "" : prompt;
        synchronized (cache) {
            float[] hit = cache.get(key);
            if (hit != null) {
                hits.incrementAndGet();
                return hit;
            }
        }
        misses.incrementAndGet();
        float[] embedding = run(tokenizer.encode(key));
        synchronized (cache) {
            cache.put(key, embedding);
        }
        return embedding;
    }

    private float[] run(long[] ids) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OnnxTensor input = Tensors.ids(env, ids, new long[] {1, ids.length}, contract.idsType());
             OrtSession.Result r = session.run(Map.of(contract.ids(), input), java.util.Set.of(contract.hidden()))) {
            return Tensors.read((OnnxTensor) r.get(contract.hidden()).orElseThrow());
        } catch (OrtException e) {
            throw new IllegalStateException("text encoder failed: " + e.getMessage(), e);
        }
    }

    public long hits() {
        return hits.get();
    }

    public long misses() {
        return misses.get();
    }
}
