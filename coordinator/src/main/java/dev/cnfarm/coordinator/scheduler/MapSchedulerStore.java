package dev.cnfarm.coordinator.scheduler;

import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.SchedulerJob;
import dev.cnfarm.proto.v1.TaskStateRecord;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/** A {@link SchedulerStore} in plain maps: for tests of the scheduling rules without Kafka. */
public final class MapSchedulerStore implements SchedulerStore {
    private final Map<String, SchedulerJob> jobs = new LinkedHashMap<>();
    private final Map<String, TaskStateRecord> tasks = new LinkedHashMap<>();
    private final Map<String, JobSpec> specs = new LinkedHashMap<>();

    @Override
    public Optional<JobSpec> spec(String jobId) {
        return Optional.ofNullable(specs.get(jobId));
    }

    @Override
    public void putSpec(String jobId, JobSpec spec) {
        specs.put(jobId, spec);
    }

    @Override
    public void deleteSpec(String jobId) {
        specs.remove(jobId);
    }

    @Override
    public Optional<SchedulerJob> job(String jobId) {
        return Optional.ofNullable(jobs.get(jobId));
    }

    @Override
    public void putJob(SchedulerJob job) {
        jobs.put(job.getRecord().getJobId(), job);
    }

    @Override
    public void forEachJob(Consumer<SchedulerJob> action) {
        List.copyOf(jobs.values()).forEach(action);
    }

    @Override
    public Optional<TaskStateRecord> task(String taskId) {
        return Optional.ofNullable(tasks.get(taskId));
    }

    @Override
    public void putTask(TaskStateRecord task) {
        tasks.put(task.getTaskId(), task);
    }

    @Override
    public void deleteTask(String taskId) {
        tasks.remove(taskId);
    }

    @Override
    public void forEachTask(Consumer<TaskStateRecord> action) {
        List.copyOf(tasks.values()).forEach(action);
    }

    public int taskCount() {
        return tasks.size();
    }
}
