package dev.cnfarm.worker.render;

import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.weights.GraphWeights;
import dev.cnfarm.models.weights.LoraWeights;
import dev.cnfarm.models.weights.SafetensorsException;
import dev.cnfarm.proto.v1.LoraRef;
import dev.cnfarm.worker.engine.SdModel;
import dev.cnfarm.worker.engine.SdRenderer;
import dev.cnfarm.common.storage.Folders;
import dev.cnfarm.common.storage.Sha256;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Models with LoRA sets merged in, kept warm: the first task of a (model, LoRA files, weights)
 * set reads the base model's weights back from its graphs, merges the deltas into the layers the
 * files adapt ({@code W + weight * alpha / rank * up . down}), writes copies of the text encoder
 * and UNet graphs with those layers replaced (the other weights' data files linked, not copied),
 * and opens sessions on them; later tasks of the set (a bulk job) reuse the sessions. The few most
 * recent sets are kept ({@link #CAPACITY}); each holds its own sessions, so the cache is small. A
 * LoRA at weight 0 is left out, and a set of only such is the base model itself, to the bit.
 *
 * <p>Why copies and not ONNX Runtime's initializer overrides: a weight shared with
 * {@code addInitializer} is bound after the graph is optimised, when constant folding has already
 * baked the graph's own value into the transposed weight the MatMul reads (the LoRA is silently
 * lost), and {@code addExternalInitializers} replaces only weights the file keeps externally.
 */
public final class LoraModels implements LoraMerger, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LoraModels.class);

    /** LoRA sets kept warm: each is a second copy of the model's sessions. */
    public static final int CAPACITY = 2;

    /** Opens a model's sessions. */
    @FunctionalInterface
    public interface SessionFactory {
        SdRenderer open(SdModel model);
    }

    /** A set's sessions and the folder of its graph copies. */
    private record Merged(SdRenderer renderer, Path folder) {}

    private final LoraFiles files;
    private final Path variants;
    private final SessionFactory factory;
    /** In access order: the eldest is closed when a new set would pass the capacity. */
    private final LinkedHashMap<String, Merged> cache = new LinkedHashMap<>(4, 0.75f, true);
    private final AtomicLong merges = new AtomicLong();

    /** @param variants where the graph copies of merged sets are written (emptied at start: a set's folder lives as long as its sessions) */
    public LoraModels(LoraFiles files, Path variants, SessionFactory factory) {
        this.files = files;
        this.variants = variants;
        this.factory = factory;
        Folders.delete(variants);
    }

    @Override
    public synchronized Renderer apply(Renderer base, String tenant, List<LoraRef> loras) {
        List<LoraRef> active = loras.stream().filter(l -> l.getWeight() != 0f).toList();
        if (active.isEmpty()) {
            return base;
        }
        StringBuilder key = new StringBuilder(base.modelId());
        for (LoraRef l : active) {
            key.append('|').append(l.getFile().getSha256()).append('@').append(Float.floatToIntBits(l.getWeight()));
        }
        Merged m = cache.get(key.toString());
        if (m == null) {
            m = merge(base, tenant, active, variants.resolve(Sha256.of(key.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8))
                    .substring(0, 16)));
            cache.put(key.toString(), m);
            evictPastCapacity();
        }
        return m.renderer();
    }

    private Merged merge(Renderer base, String tenant, List<LoraRef> loras, Path folder) {
        if (!(base instanceof SdRenderer sd) || !SdModel.NATIVE_LAYOUT.equals(sd.model().layout())) {
            throw BadInputException.permanent("model '" + base.modelId() + "' takes no LoRA on this worker: LoRA is merged into the "
                    + "farm's own bundles (farm models import), not into " + base.modelLayout());
        }
        long t0 = System.nanoTime();
        SdModel model = sd.model();
        List<LoraWeights.Lora> local = new ArrayList<>();
        for (LoraRef l : loras) {
            local.add(new LoraWeights.Lora(files.local(tenant, l), l.getWeight()));
        }
        GraphWeights graphs = GraphWeights.of(List.of(model.textEncoder(), model.unet()));
        List<ParamSpec> params = graphs.params();
        LoraWeights merged;
        try {
            merged = new LoraWeights(graphs, params, local);
        } catch (SafetensorsException e) {
            throw BadInputException.permanent(e.getMessage().replace("safetensors", "LoRA") + " (LoRA "
                    + loras.stream().map(LoraRef::getName).toList() + " on model " + base.modelId() + ")", e);
        }
        Map<String, ParamSpec> adapted = new LinkedHashMap<>();
        for (ParamSpec p : params) {
            if (merged.adapted().contains(p.onnxName())) {
                adapted.put(p.onnxName(), p);
            }
        }
        // merged as each copy is written: one layer's values at a time (the UNet's are merged again for the controlled graph)
        java.util.function.Function<String, float[]> values = name -> adapted.containsKey(name) ? merged.values(adapted.get(name)) : null;
        SdRenderer renderer;
        long t1;
        try {
            Folders.delete(folder);
            Path textEncoder = copy(model.textEncoder(), values, folder.resolve("text_encoder"));
            Path unet = copy(model.unet(), values, folder.resolve("unet"));
            Path controlled = model.controlledUnet() == null ? null : copy(model.controlledUnet(), values, folder.resolve("controlled_unet"));
            t1 = System.nanoTime();
            renderer = factory.open(model.withGraphs(textEncoder, unet, controlled));
        } catch (RuntimeException e) {
            Folders.delete(folder);
            throw e;
        }
        merges.incrementAndGet();
        LOG.info("merged {} into {}: {} layers in {} ms, sessions in {} ms", merged.notes(), base.modelId(), adapted.size(),
                (t1 - t0) / 1_000_000, (System.nanoTime() - t1) / 1_000_000);
        return new Merged(renderer, folder);
    }

    /** A copy of one graph with the merged weights, in a folder of its own (the data files it links keep their names). */
    private static Path copy(Path graph, java.util.function.Function<String, float[]> values, Path dir) {
        Path target = dir.resolve(graph.getFileName());
        GraphWeights.copyWith(graph, values, target);
        return target;
    }

    private void evictPastCapacity() {
        Iterator<Map.Entry<String, Merged>> it = cache.entrySet().iterator();
        while (cache.size() > CAPACITY && it.hasNext()) {
            Merged eldest = it.next().getValue();
            it.remove();
            close(eldest);
        }
    }

    /** LoRA sets merged so far (a cache hit merges nothing). */
    public long merges() {
        return merges.get();
    }

    private static void close(Merged m) {
        m.renderer().close();
        Folders.deleteQuietly(m.folder()); // after the sessions that read it
    }

    @Override
    public synchronized void close() {
        cache.values().forEach(LoraModels::close);
        cache.clear();
    }
}
