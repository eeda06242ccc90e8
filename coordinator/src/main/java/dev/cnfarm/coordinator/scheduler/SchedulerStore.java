package dev.cnfarm.coordinator.scheduler;

import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.SchedulerJob;
import dev.cnfarm.proto.v1.TaskStateRecord;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Where the scheduler keeps its state. In the coordinator these are Kafka Streams state stores
 * with changelog topics (so the state survives a crash and moves with the scheduler to another
 * coordinator); {@link MapSchedulerStore} keeps it in maps for tests of the scheduling rules.
 */
public interface SchedulerStore {
    /** A job's counters and state; its record carries no spec (that is kept once, in {@link #spec}). */
    Optional<SchedulerJob> job(String jobId);

    void putJob(SchedulerJob job);

    void forEachJob(Consumer<SchedulerJob> action);

    /**
     * A job's spec, stored apart from its counters: a spec can hold a hundred thousand seeds and
     * must not be rewritten (and changelogged) each time a task of the job moves.
     */
    Optional<JobSpec> spec(String jobId);

    void putSpec(String jobId, JobSpec spec);

    void deleteSpec(String jobId);

    /** Task state is kept only for released tasks of jobs that have not finished. */
    Optional<TaskStateRecord> task(String taskId);

    void putTask(TaskStateRecord task);

    void deleteTask(String taskId);

    void forEachTask(Consumer<TaskStateRecord> action);
}
