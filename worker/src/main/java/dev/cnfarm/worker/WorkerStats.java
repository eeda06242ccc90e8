package dev.cnfarm.worker;

import java.util.ArrayDeque;
import java.util.Deque;

/** Counters and a sliding-window images/s for the heartbeat. Thread-safe. */
final class WorkerStats {
    private static final long WINDOW_MS = 60_000;

    private final Deque<Long> completions = new ArrayDeque<>();
    private long succeeded;
    private long failed;
    private String currentTask = "";
    private int consecutiveFailures;

    synchronized void begin(String taskId) {
        currentTask = taskId;
    }

    synchronized void succeeded(long nowMs) {
        succeeded++;
        consecutiveFailures = 0;
        currentTask = "";
        completions.addLast(nowMs);
        trim(nowMs);
    }

    /** @param workersFault whether the failure was of the worker's own making (it counts toward stopping the worker) */
    synchronized int failed(boolean workersFault) {
        failed++;
        currentTask = "";
        if (workersFault) {
            consecutiveFailures++;
        }
        return consecutiveFailures;
    }

    synchronized int consecutiveFailures() {
        return consecutiveFailures;
    }

    synchronized void idle() {
        currentTask = "";
    }

    synchronized long succeededCount() {
        return succeeded;
    }

    synchronized long failedCount() {
        return failed;
    }

    synchronized String currentTask() {
        return currentTask;
    }

    /** Images finished in the last minute (or since the first one, if sooner), per second. */
    synchronized double imagesPerSecond(long nowMs) {
        trim(nowMs);
        if (completions.size() < 2) {
            return completions.size() / (WINDOW_MS / 1000.0);
        }
        double spanS = Math.max(1.0, (nowMs - completions.peekFirst()) / 1000.0);
        return completions.size() / spanS;
    }

    private void trim(long nowMs) {
        while (!completions.isEmpty() && nowMs - completions.peekFirst() > WINDOW_MS) {
            completions.removeFirst();
        }
    }
}
