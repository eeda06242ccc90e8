package dev.cnfarm.worker.control;

import dev.cnfarm.common.config.KafkaSettings;
import dev.cnfarm.common.kafka.ProtoCodec;
import dev.cnfarm.common.kafka.TopicFollower;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.proto.v1.WorkerControl;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The jobs the scheduler has cancelled, read from the control topic by every worker (each reads
 * all of it: no consumer group). A worker checks this set before it starts a task and after every
 * denoising step, so a cancelled job stops within one step.
 */
public final class CancelledJobs implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CancelledJobs.class);
    /** Remembered cancellations; old ones fall out (their tasks are long gone from the queue). */
    private static final int CAPACITY = 100_000;

    private final Set<String> cancelled = Collections.synchronizedSet(Collections.newSetFromMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > CAPACITY;
        }
    }));
    private final TopicFollower follower;

    public CancelledJobs(KafkaSettings kafka, Topics topics, String workerId) {
        this.follower = new TopicFollower(kafka, "worker-control-" + workerId, topics.control(), r ->
                ProtoCodec.parse(WorkerControl.parser(), r.value(), r.topic(), r.offset()).filter(WorkerControl::hasCancel)
                        .ifPresent(c -> {
                            if (cancelled.add(c.getJobId())) {
                                LOG.info("job {} cancelled: its tasks stop here", c.getJobId());
                            }
                        }),
                "cancellations now reach this worker only through the scheduler");
    }

    public boolean isCancelled(String jobId) {
        return cancelled.contains(jobId);
    }

    @Override
    public void close() {
        follower.close();
    }
}
