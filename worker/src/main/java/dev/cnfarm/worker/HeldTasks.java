package dev.cnfarm.worker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The share group's locks on the tasks a worker holds: one, or the micro-batch a poll gave it.
 * The broker gives a task to another worker when its lock runs out, so while renders take longer
 * than the lock the worker renews the locks of every task it still holds (acknowledgement type
 * RENEW). After a renewal the consumer hands the same records out again on its next poll, and
 * later acknowledgements must name those new instances, so this class keeps track of them.
 *
 * <p>In explicit acknowledgement mode every record a poll returned must be acknowledged before
 * the next poll; the worker polls again only once each held task is settled or renewed. Used only
 * from the consumer's thread (share consumers are not thread-safe).
 */
final class HeldTasks {
    private static final Logger LOG = LoggerFactory.getLogger(HeldTasks.class);

    /** A record's place in the log, the same for every instance the consumer hands out. */
    private record Place(String topic, int partition, long offset) {
        static Place of(ConsumerRecord<?, ?> r) {
            return new Place(r.topic(), r.partition(), r.offset());
        }
    }

    private final KafkaShareConsumer<String, byte[]> consumer;
    private final Map<Place, ConsumerRecord<String, byte[]>> current = new LinkedHashMap<>();
    private int renewals;
    private boolean lost;

    HeldTasks(KafkaShareConsumer<String, byte[]> consumer, List<ConsumerRecord<String, byte[]>> records) {
        this.consumer = consumer;
        records.forEach(r -> current.put(Place.of(r), r));
    }

    /**
     * Renews the lock of every task still held; false when some did not come back (their locks are
     * probably lost: another worker may take them, and this attempt's outcome is fenced off if so).
     */
    boolean renew() {
        if (lost || current.isEmpty()) {
            return !lost;
        }
        try {
            current.values().forEach(r -> consumer.acknowledge(r, AcknowledgeType.RENEW));
            Set<Place> waiting = new HashSet<>(current.keySet());
            for (int i = 0; i < 10 && !waiting.isEmpty(); i++) {
                List<ConsumerRecord<String, byte[]>> cameBack = new ArrayList<>();
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    Place p = Place.of(r);
                    if (current.containsKey(p)) {
                        current.put(p, r);
                        waiting.remove(p);
                        cameBack.add(r);
                    } else {
                        // a task this worker did not ask for came with the poll: it is busy, give it straight back
                        consumer.acknowledge(r, AcknowledgeType.RELEASE);
                    }
                }
                if (!waiting.isEmpty()) {
                    // records of a poll must be acknowledged before the next: renew those that came back early again
                    cameBack.forEach(r -> {
                        consumer.acknowledge(r, AcknowledgeType.RENEW);
                        waiting.add(Place.of(r));
                    });
                }
            }
            if (waiting.isEmpty()) {
                renewals++;
                return true;
            }
        } catch (RuntimeException e) {
            LOG.warn("lock renewal of {} task(s) failed: {}", current.size(), e.toString());
        }
        lost = true;
        LOG.warn("lost the lock on {} task(s) at {}: another worker may take them; this attempt's outcome will be fenced off if so",
                current.size(), current.keySet());
        return false;
    }

    /** Settles one held task: ACCEPT (done, whatever the outcome), RELEASE (give back) or REJECT (unreadable). */
    void settle(ConsumerRecord<String, byte[]> record, AcknowledgeType type) {
        ConsumerRecord<String, byte[]> latest = current.remove(Place.of(record));
        consumer.acknowledge(latest != null ? latest : record, type);
        consumer.commitSync(Duration.ofSeconds(30));
    }

    /** Tasks not yet settled. */
    int held() {
        return current.size();
    }

    int renewals() {
        return renewals;
    }
}
