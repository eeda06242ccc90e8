package dev.cnfarm.loadtests;

import dev.cnfarm.common.config.KafkaSettings;
import dev.cnfarm.common.kafka.ProtoCodec;
import dev.cnfarm.common.kafka.TopicReplay;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.proto.v1.TaskEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Reads what a job left on the farm's topics, from the beginning to the end as it stands now
 * (committed records only): how benchmarks and fault tests check a run after the fact, through
 * the farm's own records rather than through the API under test.
 */
public final class JobTopics {
    private JobTopics() {}

    /** Every committed record of a topic up to its current end. */
    public static void replay(KafkaSettings kafka, String topic, Consumer<ConsumerRecord<String, byte[]>> each) {
        TopicReplay.readToEnd(kafka, List.of(topic), Duration.ofMinutes(2), each);
    }

    /** The job's task events (started, result, failed) in topic order. */
    public static List<TaskEvent> taskEvents(KafkaSettings kafka, Topics topics, String jobId) {
        List<TaskEvent> out = new ArrayList<>();
        replay(kafka, topics.taskEvents(), r -> ProtoCodec.parse(TaskEvent.parser(), r.value(), r.topic(), r.offset())
                .filter(e -> e.getJobId().equals(jobId)).ifPresent(out::add));
        return out;
    }

    /** How many result events each task index has: more than one means it was rendered again (a redelivery). */
    public static Map<Integer, Long> resultsPerTask(List<TaskEvent> events) {
        Map<Integer, Long> counts = new HashMap<>();
        for (TaskEvent e : events) {
            if (e.hasResult()) {
                counts.merge(e.getTaskIndex(), 1L, Long::sum);
            }
        }
        return counts;
    }
}
