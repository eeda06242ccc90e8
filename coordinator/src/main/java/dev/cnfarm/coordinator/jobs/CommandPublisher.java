package dev.cnfarm.coordinator.jobs;

import dev.cnfarm.common.config.KafkaSettings;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.TopicSetup;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.proto.v1.CancelJob;
import dev.cnfarm.proto.v1.JobCommand;
import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.ResumeJob;
import dev.cnfarm.proto.v1.SchemaVersion;
import dev.cnfarm.proto.v1.SetPriority;
import dev.cnfarm.proto.v1.SuspendJob;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Sends requests to the scheduler on the commands topic. A send returns once the broker has the
 * command (acks from all in-sync replicas), so a job is durably recorded before its submit is
 * answered; the scheduler then takes it from there, even if this coordinator dies the next moment.
 */
public final class CommandPublisher implements AutoCloseable {
    private final KafkaProducer<String, byte[]> producer;
    private final Admin admin;
    private final KafkaSettings kafka;
    private final Topics topics;
    /** Pools whose tasks topic is known to exist. */
    private final Set<String> pools = ConcurrentHashMap.newKeySet();

    public CommandPublisher(KafkaSettings kafka, Topics topics) {
        this.producer = KafkaClients.producer(kafka, "coordinator-commands-" + ProcessHandle.current().pid());
        this.admin = KafkaClients.admin(kafka);
        this.kafka = kafka;
        this.topics = topics;
    }

    /** Records a new job; first makes sure its worker pool's tasks topic exists, since the scheduler releases into it. */
    public void submit(JobRecord job) {
        String pool = job.getSpec().getPool();
        if (!pools.contains(pool)) {
            try {
                TopicSetup.ensurePool(admin, topics, kafka, pool);
            } catch (RuntimeException e) {
                throw new JobNotStoredException("the tasks topic of pool '" + pool + "' could not be made: " + e.getMessage(), e);
            }
            pools.add(pool);
        }
        send(base(job.getJobId(), job.getTenant()).setSubmit(job).build());
    }

    public void cancel(String jobId, String tenant) {
        send(base(jobId, tenant).setCancel(CancelJob.getDefaultInstance()).build());
    }

    public void setPriority(String jobId, String tenant, int priority) {
        send(base(jobId, tenant).setSetPriority(SetPriority.newBuilder().setPriority(priority)).build());
    }

    public void suspend(String jobId, String tenant) {
        send(base(jobId, tenant).setSuspend(SuspendJob.getDefaultInstance()).build());
    }

    public void resume(String jobId, String tenant) {
        send(base(jobId, tenant).setResume(ResumeJob.getDefaultInstance()).build());
    }

    private static JobCommand.Builder base(String jobId, String tenant) {
        return JobCommand.newBuilder().setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE).setJobId(jobId).setTenant(tenant)
                .setAtMs(System.currentTimeMillis());
    }

    private void send(JobCommand command) {
        try {
            producer.send(new ProducerRecord<>(topics.commands(), command.getJobId(), command.toByteArray())).get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new JobNotStoredException("command for job " + command.getJobId() + " not recorded on Kafka: " + e.getCause().getMessage(), e.getCause());
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new JobNotStoredException("command for job " + command.getJobId() + " not recorded on Kafka: " + e, e);
        }
    }

    @Override
    public void close() {
        producer.close();
        admin.close();
    }
}
