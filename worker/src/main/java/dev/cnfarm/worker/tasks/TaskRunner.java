package dev.cnfarm.worker.tasks;

import java.util.List;
import java.util.Map;

/**
 * What a worker does with the tasks it takes. A render worker renders them ({@link TaskProcessor}
 * over its models); a trainer ({@code farm trainer}) runs training jobs. Everything around the
 * work is the worker's, for both: the share group and its lock renewals, cancel, drain, fencing,
 * heartbeats, progress and outcome events.
 */
public interface TaskRunner extends AutoCloseable {

    /** Runs the tasks of one batch; one outcome per attempt, in order. Called from one thread. */
    List<TaskOutcome> processBatch(List<TaskProcessor.Attempt> attempts);

    /** The model ids this runner serves (a trainer: the base models it trains on), for heartbeats. */
    List<String> modelIds();

    /** Where the work runs: {@code CPU}, {@code CUDA}, ... */
    String executionProvider();

    /** Model id to its folder layout and graph contract, for the SD models served; empty when none. */
    default Map<String, String> modelLayouts() {
        return Map.of();
    }

    @Override
    default void close() {
    }
}
