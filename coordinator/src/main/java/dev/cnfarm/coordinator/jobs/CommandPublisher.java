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

    /** The longest a request waits for the broker to take a command; past it the request answers 503. */
    static final java.time.Duration DEADLINE = java.time.Duration.ofSeconds(10);

    public CommandPublisher(KafkaSettings kafka, Topics topics) {
        this.producer = KafkaClients.producer(kafka, "coordinator-commands-" + ProcessHandle.current().pid(), DEADLINE);
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
            // the producer gives up by itself within the deadline; the extra second only covers its own bookkeeping
            producer.send(new ProducerRecord<>(topics.commands(), command.getJobId(), command.toByteArray()))
                    .get(DEADLINE.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new JobNotStoredException(notRecorded(command) + e.getCause().getMessage(), e.getCause());
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new JobNotStoredException(notRecorded(command) + e, e);
        }
    }

    /** What a client is told when the broker did not confirm a command in time: what may still have happened. */
    private static String notRecorded(JobCommand command) {
        return "Kafka did not confirm the command for job " + command.getJobId() + " within " + DEADLINE.toSeconds()
                + " s; it was probably not recorded, but look for that job id before sending it again without an Idempotency-Key: ";
    }

    @Override
    public void close() {
        producer.close();
        admin.close();
    }
}
