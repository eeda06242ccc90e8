package dev.cnfarm.coordinator.scheduler;

import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.RenderTask;
import dev.cnfarm.proto.v1.TaskStateRecord;
import dev.cnfarm.proto.v1.WorkerControl;

/** What the scheduler writes, each to its topic; in the coordinator all of one step go in one transaction. */
public sealed interface SchedulerOutput {

    /** A task for the workers' queue (the tasks topic). */
    record Release(RenderTask task) implements SchedulerOutput {}

    /** A task's new state (the compacted task-state topic). */
    record TaskChanged(TaskStateRecord state) implements SchedulerOutput {}

    /** A job's new state (the compacted jobs topic). */
    record JobChanged(JobRecord job) implements SchedulerOutput {}

    /** A message for every worker (the control topic). */
    record Control(WorkerControl control) implements SchedulerOutput {}
}
