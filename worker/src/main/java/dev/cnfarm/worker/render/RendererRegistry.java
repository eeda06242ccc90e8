package dev.cnfarm.worker.render;

import dev.cnfarm.common.config.WorkerSettings;
import dev.cnfarm.models.bundle.GeneratedBundles;
import dev.cnfarm.models.bundle.TrainedModels;
import dev.cnfarm.models.skeleton.SkeletonBundle;
import dev.cnfarm.worker.engine.ExecutionProvider;
import dev.cnfarm.worker.engine.ExecutionProviders;
import dev.cnfarm.worker.engine.SdModel;
import dev.cnfarm.worker.engine.SdRenderer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models a worker serves, loaded at start and kept warm: the generated tiny SD1.5-architecture
 * bundle (with one ControlNet, random weights), the walking skeleton's placeholder, the trained
 * {@code shapes} model (text to image, built from the weights the farm ships), all cached in the
 * model folder after the first build, and the folders {@code worker.models} names (the farm's bundles
 * or diffusers ONNX exports, each under its folder name or manifest id).
 */
public final class RendererRegistry implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RendererRegistry.class);

    /** Read by the render thread and heartbeats while published models are added: every access holds its lock. */
    private final Map<String, Renderer> renderers = java.util.Collections.synchronizedMap(new LinkedHashMap<>());
    private final String providerName;
    /** How this registry's ONNX Runtime sessions are made (null for a registry of given renderers). */
    private final ExecutionProvider provider;
    private final WorkerSettings settings;

    public RendererRegistry(WorkerSettings settings) {
        ExecutionProvider provider = ExecutionProviders.select(settings);
        this.provider = provider;
        this.settings = settings;
        this.providerName = provider.name();
        try {
            long t0 = System.nanoTime();
            add(new SdRenderer(GeneratedBundles.tiny(settings.modelDir()), provider, settings.sessions(), settings.promptCacheSize()));
            add(new SkeletonRenderer(SkeletonBundle.ensure(settings.modelDir())));
            // the trained shapes model, when this build ships it (built from its weights on first start)
            java.util.Optional<dev.cnfarm.models.bundle.ModelBundle> shapes = TrainedModels.shapes(settings.modelDir());
            if (shapes.isPresent()) {
                add(new SdRenderer(shapes.get(), provider, settings.sessions(), settings.promptCacheSize()));
            }
            for (java.nio.file.Path folder : settings.extraModels()) {
                SdRenderer r = new SdRenderer(SdModel.open(folder), provider, settings.sessions(), settings.promptCacheSize());
                if (renderers.containsKey(r.modelId())) {
                    r.close();
                    throw new IllegalArgumentException("setting 'worker.models' names " + folder + ", whose model id '" + r.modelId()
                            + "' is taken; rename its folder (a bundle: its manifest id)");
                }
                add(r);
                LOG.info("serving {} from {} ({})", r.modelId(), folder, r.modelLayout());
            }
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
        this.provider = null;
        this.settings = null;
    }

    /**
     * Starts serving a model folder (a bundle or diffusers export) while the worker runs: a model the
     * farm trained and published. False when this registry cannot make sessions (given renderers)
     * or already serves a model of that id.
     */
    public boolean serve(java.nio.file.Path folder) {
        if (provider == null) {
            return false;
        }
        SdRenderer r = new SdRenderer(SdModel.open(folder), provider, settings.sessions(), settings.promptCacheSize());
        synchronized (renderers) {
            if (renderers.containsKey(r.modelId())) {
                r.close();
                return false;
            }
            add(r);
        }
        LOG.info("serving {} from {} ({})", r.modelId(), folder, r.modelLayout());
        return true;
    }

    /**
     * The merger of task LoRA files into this registry's models, keeping files under {@code folder};
     * {@link LoraMerger#NONE} for a registry of given renderers (it makes no sessions).
     */
    public LoraMerger loraMerger(dev.cnfarm.common.storage.ObjectStore store, java.nio.file.Path folder) {
        if (provider == null) {
            return LoraMerger.NONE;
        }
        return new LoraModels(new LoraFiles(store, folder.resolve("files")), folder.resolve("merged"),
                model -> new SdRenderer(model, provider, settings.sessions(), settings.promptCacheSize()));
    }

    /** Whether a model of this id is served. */
    public boolean serves(String modelId) {
        return renderers.containsKey(modelId);
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
            throw new BadInputException("model '" + modelId + "' is not on this worker; it serves " + modelIds());
        }
        return r;
    }

    public List<String> modelIds() {
        synchronized (renderers) {
            return new ArrayList<>(renderers.keySet());
        }
    }

    /** Model id to layout and graph contract, for the heartbeat (models without one are left out). */
    public Map<String, String> modelLayouts() {
        Map<String, String> m = new LinkedHashMap<>();
        Map<String, Renderer> copy;
        synchronized (renderers) {
            copy = new LinkedHashMap<>(renderers);
        }
        copy.forEach((id, r) -> {
            if (!r.modelLayout().isEmpty()) {
                m.put(id, r.modelLayout());
            }
        });
        return m;
    }

    public String executionProvider() {
        return providerName;
    }

    @Override
    public void close() {
        synchronized (renderers) {
            renderers.values().forEach(Renderer::close);
            renderers.clear();
        }
    }
}
