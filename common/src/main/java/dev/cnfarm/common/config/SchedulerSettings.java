package dev.cnfarm.common.config;

/**
 * How the coordinator's scheduler releases and retries tasks.
 *
 * @param windowPerWorker     tasks released ahead per live worker
 * @param minWindow           tasks released ahead at least, before workers report
 * @param maxAttempts         attempts per task when attempts fail on the task's content
 * @param maxInfraRetries     retries after infrastructure failures, counted apart from maxAttempts
 * @param retryBackoffMs      first retry delay; doubles per infrastructure failure
 * @param maxBackoffMs        cap on the retry delay
 * @param standbyReplicas     Kafka Streams standby copies of the scheduler's state
 * @param sessionTimeoutMs    Kafka Streams session timeout: how soon a vanished coordinator's work moves
 * @param workerHeartbeatMs   the workers' heartbeat interval; three missed heartbeats and a worker no longer counts as live
 */
public record SchedulerSettings(int windowPerWorker, int minWindow, int maxAttempts, int maxInfraRetries, long retryBackoffMs,
                                long maxBackoffMs, int standbyReplicas, int sessionTimeoutMs, int workerHeartbeatMs) {

    public static SchedulerSettings defaults() {
        return new SchedulerSettings(2, 4, 3, 30, 1000, 30_000, 0, 10_000, 2000);
    }

    /** Delay before the retry that follows the n-th failure (n from 1): base, 2 x base, 4 x base, ..., capped. */
    public long backoffMs(int n) {
        long d = retryBackoffMs;
        for (int i = 1; i < n && d < maxBackoffMs; i++) {
            d *= 2;
        }
        return Math.min(d, maxBackoffMs);
    }
}
