package dev.cnfarm.worker;

import java.time.Duration;
import java.util.Objects;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The share group's lock on the task a worker holds. The broker gives a task to another worker
 * when the lock runs out, so while a render takes longer than the lock the worker renews it
 * (acknowledgement type RENEW). After a renewal the consumer hands the same record out again on
 * its next poll, and later acknowledgements must name that new instance, so this class keeps
 * track of it. Used only from the consumer's thread (share consumers are not thread-safe).
 */
final class TaskLock {
    private static final Logger LOG = LoggerFactory.getLogger(TaskLock.class);

    private final KafkaShareConsumer<String, byte[]> consumer;
    private ConsumerRecord<String, byte[]> current;
    private int renewals;
    private boolean lost;

    TaskLock(KafkaShareConsumer<String, byte[]> consumer, ConsumerRecord<String, byte[]> record) {
        this.consumer = consumer;
        this.current = record;
    }

    /** Renews the lock; false when the record did not come back (the lock is probably lost). */
    boolean renew() {
        if (lost) {
            return false;
        }
        try {
            consumer.acknowledge(current, AcknowledgeType.RENEW);
            for (int i = 0; i < 10; i++) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    if (sameRecord(r, current)) {
                        current = r;
                        renewals++;
                        return true;
                    }
                    // another task came with the poll: this worker is busy, give it straight back
                    consumer.acknowledge(r, AcknowledgeType.RELEASE);
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("lock renewal of {}-{}@{} failed: {}", current.topic(), current.partition(), current.offset(), e.toString());
        }
        lost = true;
        LOG.warn("lost the lock on {}-{}@{}: another worker may take the task; this attempt's outcome will be fenced off if so",
                current.topic(), current.partition(), current.offset());
        return false;
    }

    /** Settles the task: ACCEPT (done, whatever the outcome), RELEASE (give back) or REJECT (unreadable). */
    void settle(AcknowledgeType type) {
        consumer.acknowledge(current, type);
        consumer.commitSync(Duration.ofSeconds(30));
    }

    int renewals() {
        return renewals;
    }

    private static boolean sameRecord(ConsumerRecord<?, ?> a, ConsumerRecord<?, ?> b) {
        return a.offset() == b.offset() && a.partition() == b.partition() && Objects.equals(a.topic(), b.topic());
    }
}
