package dev.cnfarm.worker.render;

import dev.cnfarm.common.config.KafkaSettings;
import dev.cnfarm.common.kafka.ProtoCodec;
import dev.cnfarm.common.kafka.TopicFollower;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.common.storage.Archives;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.proto.v1.PublishedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the models the farm trains, without a restart: every render worker reads the compacted
 * models topic from the beginning (no consumer group: each reads all of it), fetches each published
 * bundle from S3 once into its model folder, and adds it to its renderers. Its heartbeats then list
 * the model, and the coordinator takes jobs for it.
 */
public final class PublishedModels implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PublishedModels.class);

    private final ObjectStore store;
    private final RendererRegistry renderers;
    private final Path folder;
    private final TopicFollower follower;

    /** @param folder where fetched bundles are kept (one folder per model and bundle digest) */
    public PublishedModels(KafkaSettings kafka, Topics topics, String workerId, ObjectStore store, RendererRegistry renderers, Path folder) {
        this.store = store;
        this.renderers = renderers;
        this.folder = folder;
        this.follower = new TopicFollower(kafka, "worker-models-" + workerId, topics.models(),
                r -> ProtoCodec.parse(PublishedModel.parser(), r.value(), r.topic(), r.offset()).ifPresent(this::serve),
                "models published from now on need a restart to be served");
    }

    /** Fetches and serves one published model; a model id this worker serves already is left as it is. */
    private void serve(PublishedModel m) {
        if (renderers.serves(m.getModelId())) {
            return;
        }
        try {
            Path dir = folder.resolve(m.getModelId() + "-" + m.getBundle().getSha256().substring(0, Math.min(12, m.getBundle().getSha256().length())));
            if (!Files.isRegularFile(dir.resolve("manifest.json"))) {
                Archives.unzip(store.get(m.getBundle().getKey()), dir);
            }
            if (renderers.serve(dir)) {
                LOG.info("serving {} (a ControlNet for {} trained by job {}), published at {}", m.getModelId(), m.getBase(), m.getJobId(),
                        m.getBundle().getKey());
            }
        } catch (RuntimeException e) {
            LOG.warn("published model {} not served: {}", m.getModelId(), e.toString());
        }
    }

    @Override
    public void close() {
        follower.close();
    }
}
