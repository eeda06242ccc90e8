package dev.cnfarm.worker.render;

import dev.cnfarm.common.config.WorkerSettings;
import dev.cnfarm.models.bundle.GeneratedBundles;
import dev.cnfarm.models.skeleton.SkeletonBundle;
import dev.cnfarm.worker.engine.ExecutionProvider;
import dev.cnfarm.worker.engine.ExecutionProviders;
import dev.cnfarm.worker.engine.SdRenderer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models a worker serves, loaded at start and kept warm: the generated tiny SD1.5-architecture
 * bundle (with one ControlNet) and the walking skeleton's placeholder, both cached in the model
 * folder after the first build.
 */
public final class RendererRegistry implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RendererRegistry.class);

    private final Map<String, Renderer> renderers = new LinkedHashMap<>();
    private final String providerName;

    public RendererRegistry(WorkerSettings settings) {
        ExecutionProvider provider = ExecutionProviders.select(settings);
        this.providerName = provider.name();
        try {
            long t0 = System.nanoTime();
            add(new SdRenderer(GeneratedBundles.tiny(settings.modelDir()), provider, settings.sessions(), settings.promptCacheSize()));
            add(new SkeletonRenderer(SkeletonBundle.ensure(settings.modelDir())));
            LOG.info("models {} ready on {} in {} ms", renderers.keySet(), provider.name(), (System.nanoTime() - t0) / 1_000_000);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** A registry of given renderers: simulated GPUs for load tests, or test doubles at the renderer seam. */
    public RendererRegistry(List<Renderer> given) {
        given.forEach(this::add);
        this.providerName = given.isEmpty() ? "CPU" : given.get(0).executionProvider();
    }

    /** One simulated model ({@link SimulatedRenderer#MODEL_ID}) whose steps take {@code msPerStep} each. */
    public static RendererRegistry simulated(long msPerStep) {
        return new RendererRegistry(List.of(new SimulatedRenderer(msPerStep)));
    }

    private void add(Renderer r) {
        renderers.put(r.modelId(), r);
    }

    /** The renderer of a model id, or a content failure naming the models this worker has. */
    public Renderer get(String modelId) {
        Renderer r = renderers.get(modelId);
        if (r == null) {
            throw new BadInputException("model '" + modelId + "' is not on this worker; it serves " + renderers.keySet());
        }
        return r;
    }

    public List<String> modelIds() {
        return new ArrayList<>(renderers.keySet());
    }

    public String executionProvider() {
        return providerName;
    }

    @Override
    public void close() {
        renderers.values().forEach(Renderer::close);
        renderers.clear();
    }
}
