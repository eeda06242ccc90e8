package dev.cnfarm.coordinator.scheduler;

import dev.cnfarm.common.config.SchedulerSettings;
import dev.cnfarm.common.kafka.ProtoCodec;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.proto.v1.JobCommand;
import dev.cnfarm.proto.v1.RenderTask;
import dev.cnfarm.proto.v1.SchedulerInput;
import dev.cnfarm.proto.v1.SchemaVersion;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.WorkerStatus;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.function.Function;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.TopicNameExtractor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.Stores;

/**
 * The scheduler as a Kafka Streams topology. Four funnels (commands, task events, worker
 * heartbeats, dead-lettered tasks) wrap their records in a {@code SchedulerInput} and write them
 * to the one-partition scheduler-input topic; one {@link SchedulerProcessor} reads that topic and
 * writes releases, task states, job states and worker control messages. Its state lives in two
 * stores with changelog topics. Under exactly-once processing, each input's state changes, outputs
 * and consumed offset commit together or not at all.
 */
public final class SchedulerTopology {
    public static final String JOB_STORE = "scheduler-jobs";
    public static final String TASK_STORE = "scheduler-tasks";
    public static final String SPEC_STORE = "scheduler-specs";
    static final String PROCESSOR = "scheduler";
    static final String TASKS_SINK = "to-tasks";
    static final String TASK_STATE_SINK = "to-task-state";
    static final String JOBS_SINK = "to-jobs";
    static final String CONTROL_SINK = "to-control";
    /** On a release: the worker pool whose tasks topic it goes to. */
    static final String POOL_HEADER = "farm-pool";
    /** Every input carries this key, so all of it lands in the scheduler-input topic's one partition. */
    static final String INPUT_KEY = "scheduler";

    private SchedulerTopology() {}

    public static Topology build(Topics topics, SchedulerSettings settings) {
        Topology t = new Topology();
        funnel(t, "commands", topics.commands(), topics.schedulerInput(),
                v -> ProtoCodec.parse(JobCommand.parser(), v, topics.commands(), -1).map(c -> input().setCommand(c).build()));
        funnel(t, "task-events", topics.taskEvents(), topics.schedulerInput(),
                v -> ProtoCodec.parse(TaskEvent.parser(), v, topics.taskEvents(), -1).map(e -> input().setEvent(e).build()));
        funnel(t, "workers", topics.workers(), topics.schedulerInput(),
                v -> ProtoCodec.parse(WorkerStatus.parser(), v, topics.workers(), -1).map(s -> input().setHeartbeat(s).build()));
        funnel(t, "dead-letters", topics.deadLetters(), topics.schedulerInput(),
                v -> ProtoCodec.parse(RenderTask.parser(), v, topics.deadLetters(), -1).map(d -> input().setDeadLetter(d).build()));

        t.addSource("scheduler-input", Serdes.String().deserializer(), Serdes.ByteArray().deserializer(), topics.schedulerInput());
        t.addProcessor(PROCESSOR, () -> new SchedulerProcessor(settings), "scheduler-input");
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(JOB_STORE), Serdes.String(), Serdes.ByteArray()), PROCESSOR);
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(TASK_STORE), Serdes.String(), Serdes.ByteArray()), PROCESSOR);
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(SPEC_STORE), Serdes.String(), Serdes.ByteArray()), PROCESSOR);
        // each worker pool has its own tasks topic, named by the release's pool header
        TopicNameExtractor<String, byte[]> poolTopic = (key, value, context) -> {
            Header h = context.headers().lastHeader(POOL_HEADER);
            return topics.tasks(h == null ? "" : new String(h.value(), StandardCharsets.UTF_8));
        };
        t.addSink(TASKS_SINK, poolTopic, Serdes.String().serializer(), Serdes.ByteArray().serializer(), PROCESSOR);
        t.addSink(TASK_STATE_SINK, topics.taskState(), Serdes.String().serializer(), Serdes.ByteArray().serializer(), PROCESSOR);
        t.addSink(JOBS_SINK, topics.jobs(), Serdes.String().serializer(), Serdes.ByteArray().serializer(), PROCESSOR);
        t.addSink(CONTROL_SINK, topics.control(), Serdes.String().serializer(), Serdes.ByteArray().serializer(), PROCESSOR);
        return t;
    }

    private static SchedulerInput.Builder input() {
        return SchedulerInput.newBuilder().setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE);
    }

    private static void funnel(Topology t, String name, String from, String to, Function<byte[], Optional<SchedulerInput>> wrap) {
        t.addSource(name + "-source", Serdes.String().deserializer(), Serdes.ByteArray().deserializer(), from);
        t.addProcessor(name + "-funnel", () -> new Funnel(wrap), name + "-source");
        t.addSink(name + "-sink", to, Serdes.String().serializer(), Serdes.ByteArray().serializer(), name + "-funnel");
    }

    /** Wraps one topic's records for the scheduler; unreadable records are logged by the codec and skipped. */
    private static final class Funnel implements Processor<String, byte[], String, byte[]> {
        private final Function<byte[], Optional<SchedulerInput>> wrap;
        private ProcessorContext<String, byte[]> context;

        Funnel(Function<byte[], Optional<SchedulerInput>> wrap) {
            this.wrap = wrap;
        }

        @Override
        public void init(ProcessorContext<String, byte[]> context) {
            this.context = context;
        }

        @Override
        public void process(Record<String, byte[]> record) {
            if (record.value() == null) {
                return; // a tombstone on a compacted topic
            }
            wrap.apply(record.value()).ifPresent(in -> context.forward(record.withKey(INPUT_KEY).withValue(in.toByteArray())));
        }
    }
}
