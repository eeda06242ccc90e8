package dev.cnfarm.coordinator.state;

import dev.cnfarm.common.config.KafkaSettings;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.ProtoCodec;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.coordinator.auth.TokenRegistry;
import dev.cnfarm.proto.v1.ApiToken;
import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.TaskStateRecord;
import dev.cnfarm.proto.v1.WorkerStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds the {@link JobView} and {@link WorkerView} from Kafka. On start it replays the compacted
 * jobs topic, then the compacted task-state topic, from the beginning (Kafka is the system of
 * record, so this rebuilds everything a previous coordinator knew), and is ready once it has
 * caught up; afterwards it follows them live, with the workers' heartbeats. Progress is read from
 * the end only: it is lossy and only matters while it is fresh; so are the workers' task events,
 * whose results tell which attempts' objects the scheduler fenced off. API tokens are replayed from the
 * beginning too, before the coordinator serves anyone, so a revoked token is never honoured by a
 * coordinator that has just started.
 */
public final class StateFeed implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StateFeed.class);

    private final KafkaConsumer<String, byte[]> consumer;
    private final Topics topics;
    private final JobView view;
    private final WorkerView workers;
    private final TokenRegistry tokens;
    private final CountDownLatch ready = new CountDownLatch(1);
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long replayedRecords;

    public StateFeed(KafkaSettings kafka, Topics topics, JobView view, WorkerView workers, TokenRegistry tokens) {
        this.consumer = KafkaClients.replayConsumer(kafka, "coordinator-state-" + ProcessHandle.current().pid());
        this.topics = topics;
        this.view = view;
        this.workers = workers;
        this.tokens = tokens;
        this.thread = new Thread(this::run, "state-feed");
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    /** Waits until the replay has caught up with what was on the topics at start. */
    public boolean awaitReady(Duration timeout) throws InterruptedException {
        return ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public boolean isReady() {
        return ready.getCount() == 0;
    }

    public long replayedRecords() {
        return replayedRecords;
    }

    private void run() {
        try {
            List<TopicPartition> jobParts = partitions(topics.jobs());
            List<TopicPartition> stateParts = partitions(topics.taskState());
            List<TopicPartition> progressParts = partitions(topics.progress());
            List<TopicPartition> eventParts = partitions(topics.taskEvents());
            List<TopicPartition> workerParts = partitions(topics.workers());
            List<TopicPartition> tokenParts = partitions(topics.tokens());

            // 1. every job record, so that events always find their job
            consumer.assign(jobParts);
            consumer.seekToBeginning(jobParts);
            drainTo(consumer.endOffsets(jobParts));

            // 2. every task's latest state, then live
            List<TopicPartition> all = new ArrayList<>(jobParts);
            all.addAll(stateParts);
            all.addAll(progressParts);
            all.addAll(eventParts);
            all.addAll(workerParts);
            all.addAll(tokenParts);
            Map<TopicPartition, Long> positions = new java.util.HashMap<>();
            for (TopicPartition tp : jobParts) {
                positions.put(tp, consumer.position(tp));
            }
            consumer.assign(all);
            positions.forEach(consumer::seek);
            consumer.seekToBeginning(stateParts);
            consumer.seekToEnd(progressParts);
            consumer.seekToEnd(eventParts); // live results only: for removing the objects of fenced attempts
            consumer.seekToBeginning(workerParts); // compacted: the latest heartbeat of every worker
            consumer.seekToBeginning(tokenParts);
            List<TopicPartition> replayed = new ArrayList<>(stateParts);
            replayed.addAll(tokenParts);
            drainTo(consumer.endOffsets(replayed));
            ready.countDown();
            LOG.info("state rebuilt from {} records: {} jobs", replayedRecords, view.jobCount());

            while (running) {
                consumer.poll(Duration.ofMillis(200)).forEach(this::apply);
            }
        } catch (WakeupException e) {
            // close() asked us to stop
        } catch (RuntimeException e) {
            LOG.error("state feed stopped: {}", e.toString(), e);
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void drainTo(Map<TopicPartition, Long> ends) {
        while (running && !caughtUp(ends)) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                apply(r);
                replayedRecords++;
            }
        }
    }

    private boolean caughtUp(Map<TopicPartition, Long> ends) {
        for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        try {
            if (r.topic().equals(topics.jobs())) {
                ProtoCodec.parse(JobRecord.parser(), r.value(), r.topic(), r.offset()).ifPresent(view::applyJob);
            } else if (r.topic().equals(topics.workers())) {
                ProtoCodec.parse(WorkerStatus.parser(), r.value(), r.topic(), r.offset()).ifPresent(workers::apply);
            } else if (r.topic().equals(topics.tokens())) {
                if (r.value() == null) {
                    tokens.apply(r.key(), null);
                } else {
                    ProtoCodec.parse(ApiToken.parser(), r.value(), r.topic(), r.offset()).ifPresent(t -> tokens.apply(r.key(), t));
                }
            } else if (r.topic().equals(topics.taskState())) {
                ProtoCodec.parse(TaskStateRecord.parser(), r.value(), r.topic(), r.offset()).ifPresent(view::applyTaskState);
            } else {
                ProtoCodec.parse(TaskEvent.parser(), r.value(), r.topic(), r.offset()).ifPresent(view::applyTaskEvent);
            }
        } catch (RuntimeException e) {
            // one bad record (or a failing listener) must not stop the view for everyone
            LOG.warn("record {}-{}@{} not applied: {}", r.topic(), r.partition(), r.offset(), e.toString());
        }
    }

    private List<TopicPartition> partitions(String topic) {
        return consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                .map(p -> new TopicPartition(topic, p.partition())).toList();
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
