package dev.cnfarm.coordinator.scheduler;

import dev.cnfarm.common.config.SchedulerSettings;
import dev.cnfarm.common.kafka.ProtoCodec;
import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.SchedulerInput;
import dev.cnfarm.proto.v1.SchedulerJob;
import dev.cnfarm.proto.v1.TaskStateRecord;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/** Runs the {@link Scheduler} inside Kafka Streams: its store is the Streams state stores, its outputs go to the sinks. */
final class SchedulerProcessor implements Processor<String, byte[], String, byte[]> {
    /** How often backoffs, quiet workers and the window are looked at between inputs. */
    static final Duration TICK = Duration.ofMillis(200);

    private final SchedulerSettings settings;
    private Scheduler scheduler;

    SchedulerProcessor(SchedulerSettings settings) {
        this.settings = settings;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        KeyValueStore<String, byte[]> jobs = context.getStateStore(SchedulerTopology.JOB_STORE);
        KeyValueStore<String, byte[]> tasks = context.getStateStore(SchedulerTopology.TASK_STORE);
        KeyValueStore<String, byte[]> specs = context.getStateStore(SchedulerTopology.SPEC_STORE);
        scheduler = new Scheduler(settings, new StreamsStore(jobs, tasks, specs), output(context), context::currentSystemTimeMs);
        scheduler.recover();
        context.schedule(TICK, PunctuationType.WALL_CLOCK_TIME, ts -> scheduler.tick());
    }

    private static Consumer<SchedulerOutput> output(ProcessorContext<String, byte[]> context) {
        return o -> {
            long ts = context.currentSystemTimeMs();
            // Java 17: no pattern switch yet
            if (o instanceof SchedulerOutput.Release r) {
                // the sink picks the pool's tasks topic from this header
                context.forward(new Record<>(r.task().getTaskId(), r.task().toByteArray(), ts,
                        new RecordHeaders().add(SchedulerTopology.POOL_HEADER, r.task().getPool().getBytes(StandardCharsets.UTF_8))),
                        SchedulerTopology.TASKS_SINK);
            } else if (o instanceof SchedulerOutput.TaskChanged c) {
                context.forward(new Record<>(c.state().getTaskId(), c.state().toByteArray(), ts), SchedulerTopology.TASK_STATE_SINK);
            } else if (o instanceof SchedulerOutput.JobChanged j) {
                context.forward(new Record<>(j.job().getJobId(), j.job().toByteArray(), ts), SchedulerTopology.JOBS_SINK);
            } else if (o instanceof SchedulerOutput.Control c) {
                context.forward(new Record<>(c.control().getJobId(), c.control().toByteArray(), ts), SchedulerTopology.CONTROL_SINK);
            }
        };
    }

    @Override
    public void process(Record<String, byte[]> record) {
        Optional<SchedulerInput> parsed = ProtoCodec.parse(SchedulerInput.parser(), record.value(), "scheduler-input", -1);
        if (parsed.isEmpty()) {
            return;
        }
        SchedulerInput in = parsed.get();
        switch (in.getKindCase()) {
            case COMMAND -> scheduler.onCommand(in.getCommand());
            case EVENT -> scheduler.onEvent(in.getEvent());
            case HEARTBEAT -> scheduler.onHeartbeat(in.getHeartbeat());
            case DEAD_LETTER -> scheduler.onDeadLetter(in.getDeadLetter());
            default -> { }
        }
    }

    /** The scheduler's store over two Streams key-value stores holding serialized protobuf. */
    private record StreamsStore(KeyValueStore<String, byte[]> jobs, KeyValueStore<String, byte[]> tasks,
                                KeyValueStore<String, byte[]> specs) implements SchedulerStore {
        @Override
        public Optional<JobSpec> spec(String jobId) {
            return parse(specs.get(jobId), JobSpec.parser());
        }

        @Override
        public void putSpec(String jobId, JobSpec spec) {
            specs.put(jobId, spec.toByteArray());
        }

        @Override
        public void deleteSpec(String jobId) {
            specs.delete(jobId);
        }

        @Override
        public Optional<SchedulerJob> job(String jobId) {
            return parse(jobs.get(jobId), SchedulerJob.parser());
        }

        @Override
        public void putJob(SchedulerJob job) {
            jobs.put(job.getRecord().getJobId(), job.toByteArray());
        }

        @Override
        public void forEachJob(Consumer<SchedulerJob> action) {
            try (KeyValueIterator<String, byte[]> it = jobs.all()) {
                it.forEachRemaining((KeyValue<String, byte[]> kv) -> parse(kv.value, SchedulerJob.parser()).ifPresent(action));
            }
        }

        @Override
        public Optional<TaskStateRecord> task(String taskId) {
            return parse(tasks.get(taskId), TaskStateRecord.parser());
        }

        @Override
        public void putTask(TaskStateRecord task) {
            tasks.put(task.getTaskId(), task.toByteArray());
        }

        @Override
        public void deleteTask(String taskId) {
            tasks.delete(taskId);
        }

        @Override
        public void forEachTask(Consumer<TaskStateRecord> action) {
            try (KeyValueIterator<String, byte[]> it = tasks.all()) {
                it.forEachRemaining((KeyValue<String, byte[]> kv) -> parse(kv.value, TaskStateRecord.parser()).ifPresent(action));
            }
        }

        private static <T extends com.google.protobuf.Message> Optional<T> parse(byte[] bytes, com.google.protobuf.Parser<T> parser) {
            return bytes == null ? Optional.empty() : ProtoCodec.parse(parser, bytes, "scheduler store", -1);
        }
    }
}
