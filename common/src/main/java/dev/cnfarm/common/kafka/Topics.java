package dev.cnfarm.common.kafka;

import java.util.List;

/**
 * The farm's topic names, all under one configurable prefix (default {@code farm.}). What each
 * topic holds is described in DESIGN.md; the cleanup policies are set by {@link TopicSetup}.
 */
public record Topics(String prefix) {

    /** Compacted; key job id; value {@code JobRecord} (spec and job-level state). */
    public String jobs() {
        return prefix + "jobs";
    }

    /** The pool of workers a job names when it names none. */
    public static final String DEFAULT_POOL = "default";

    /** What a pool name may be: it becomes part of a topic name. */
    public static final java.util.regex.Pattern POOL_NAME = java.util.regex.Pattern.compile("[a-z0-9][a-z0-9-]{0,39}");

    /** Released tasks of the default pool; key task id; value {@code RenderTask}; read by the workers' share group. */
    public String tasks() {
        return prefix + "tasks";
    }

    /**
     * Released tasks of a worker pool: the workers of a pool read only its topic, so a task goes
     * only to workers that can run it. The default pool's topic is {@link #tasks()}.
     *
     * @param pool empty or {@value #DEFAULT_POOL} for the default pool
     */
    public String tasks(String pool) {
        return pool.isEmpty() || pool.equals(DEFAULT_POOL) ? tasks() : prefix + "tasks.pool-" + pool;
    }

    /** started / result / failed; key job id; value {@code TaskEvent}. */
    public String taskEvents() {
        return prefix + "task-events";
    }

    /** Requests to the scheduler (submit, cancel, priority, suspend, resume); key job id; value {@code JobCommand}. */
    public String commands() {
        return prefix + "commands";
    }

    /** Messages every worker reads (cancellations); key job id; value {@code WorkerControl}. */
    public String control() {
        return prefix + "control";
    }

    /**
     * The scheduler's own input: commands, task events, heartbeats and dead letters funnelled into
     * one partition, so that one processor sees them all in one order. Value {@code SchedulerInput}.
     */
    public String schedulerInput() {
        return prefix + "scheduler-input";
    }

    /** The Kafka Streams application id of the scheduler (its consumer group and internal topics). */
    public String schedulerApplicationId() {
        return prefix + "scheduler";
    }

    /** Compacted latest state of each task; key task id; value {@code TaskStateRecord}; written by the scheduler only. */
    public String taskState() {
        return prefix + "task-state";
    }

    /** Step progress and previews; key job id; lossy by design (short retention). */
    public String progress() {
        return prefix + "progress";
    }

    /** Compacted worker heartbeats; key worker id; value {@code WorkerStatus}. */
    public String workers() {
        return prefix + "workers";
    }

    /** Compacted API tokens; key token id; value {@code ApiToken} (a hash of the secret, never the secret). */
    public String tokens() {
        return prefix + "tokens";
    }

    /**
     * Where the share group puts task records past their delivery limit. The broker requires
     * dead-letter topic names to start with {@code dlq.} by default.
     */
    public String deadLetters() {
        return "dlq." + prefix + "tasks";
    }

    /** Compacted models the farm trained and published; key model id; value {@code PublishedModel}; read by every render worker. */
    public String models() {
        return prefix + "models";
    }

    public List<String> all() {
        return List.of(jobs(), commands(), tasks(), taskEvents(), taskState(), progress(), workers(), control(), schedulerInput(),
                deadLetters(), tokens(), models());
    }
}
