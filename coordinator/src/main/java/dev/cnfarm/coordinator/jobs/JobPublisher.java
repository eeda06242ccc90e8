package dev.cnfarm.coordinator.jobs;

import dev.cnfarm.common.config.KafkaSettings;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.RenderTask;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes jobs to Kafka. A new job's record and all its tasks go in one transaction: readers at
 * read_committed (the coordinator's view, the workers' share group) see the whole job or nothing,
 * so a coordinator that dies mid-submit leaves no half job behind.
 */
public final class JobPublisher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JobPublisher.class);

    private final KafkaSettings kafka;
    private final Topics topics;
    private final String transactionalId;
    private KafkaProducer<String, byte[]> producer;

    public JobPublisher(KafkaSettings kafka, Topics topics) {
        this.kafka = kafka;
        this.topics = topics;
        // one id per coordinator process; a fixed id would fence a second coordinator running beside it
        this.transactionalId = "coordinator-" + UUID.randomUUID();
        this.producer = KafkaClients.transactionalProducer(kafka, transactionalId, transactionalId);
    }

    /** Records the job and releases its tasks, atomically. Blocks until committed. */
    public synchronized void submit(JobRecord job, List<RenderTask> tasks) {
        try {
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topics.jobs(), job.getJobId(), job.toByteArray()));
            for (RenderTask t : tasks) {
                producer.send(new ProducerRecord<>(topics.tasks(), t.getTaskId(), t.toByteArray()));
            }
            producer.commitTransaction();
        } catch (KafkaException e) {
            abortOrReset(e);
            throw new JobNotStoredException("job " + job.getJobId() + " could not be recorded on Kafka: " + e.getMessage(), e);
        }
    }

    /** Records a job-level state change (the job record is compacted: it carries the whole spec). */
    public synchronized void update(JobRecord job) {
        try {
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topics.jobs(), job.getJobId(), job.toByteArray()));
            producer.commitTransaction();
        } catch (KafkaException e) {
            abortOrReset(e);
            throw new JobNotStoredException("state of job " + job.getJobId() + " could not be recorded: " + e.getMessage(), e);
        }
    }

    private void abortOrReset(KafkaException cause) {
        try {
            producer.abortTransaction();
        } catch (RuntimeException e) {
            // the producer is fenced or broken: replace it, so later submits can succeed
            LOG.warn("transactional producer unusable after '{}'; creating a new one", cause.getMessage());
            producer.close();
            producer = KafkaClients.transactionalProducer(kafka, transactionalId, transactionalId);
        }
    }

    @Override
    public synchronized void close() {
        producer.close();
    }
}
