package dev.cnfarm.coordinator.live;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.coordinator.state.JobSnapshot;
import dev.cnfarm.coordinator.state.JobSummary;
import dev.cnfarm.coordinator.state.JobUpdate;
import dev.cnfarm.coordinator.state.JobView;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One websocket client's subscriptions and what is waiting to be sent to it. Updates are not sent
 * as they come but gathered and flushed as one frame about every 100 ms, so a client gets at most
 * about 10 frames a second however busy the farm is:
 *
 * <ul>
 *   <li>results, failures, starts and job state changes of subscribed jobs are queued in order and
 *       never dropped;</li>
 *   <li>step progress is coalesced: only the latest per task waits, and while the client reads too
 *       slowly ({@link FrameSink#writeQueueFull()}) it keeps being replaced rather than piling up;</li>
 *   <li>for an "all jobs" subscription only the latest summary of each job waits.</li>
 * </ul>
 *
 * A client that stays stalled while more than {@link #MAX_QUEUED} events pile up loses its queue
 * and gets fresh snapshots of its jobs once it reads again: memory stays bounded, and the snapshot
 * carries every task's state, so it still misses no result.
 */
public final class ClientSession {
    public static final int MAX_QUEUED = 10_000;

    private final String tenant;
    private final FrameSink sink;
    private final JobView view;
    private final EventLog log;
    private final Set<String> jobs = new HashSet<>();
    private boolean allJobs;
    private final ArrayDeque<LiveEvent> queue = new ArrayDeque<>();
    private final Map<String, LiveEvent> progress = new LinkedHashMap<>();
    private final Map<String, JobSummary> summaries = new LinkedHashMap<>();
    private final Set<String> snapshotsDue = new LinkedHashSet<>();
    private long framesSent;
    private long overflows;
    private long progressReplaced;

    public ClientSession(String tenant, FrameSink sink, JobView view, EventLog log) {
        this.tenant = tenant;
        this.sink = sink;
        this.view = view;
        this.log = log;
    }

    /**
     * Subscribes to jobs; with {@code sinceId} (the last event id the client saw) it gets the
     * updates it missed, or a snapshot when they are no longer held. Returns the jobs not found.
     */
    public List<String> subscribe(List<String> jobIds, String sinceId) {
        List<String> missing = new ArrayList<>();
        long since = log.seqOf(sinceId);
        for (String id : jobIds) {
            if (view.summary(id).filter(s -> s.tenant().equals(tenant)).isEmpty()) {
                missing.add(id);
                continue;
            }
            log.withEventsSince(id, since, missed -> {
                synchronized (this) {
                    jobs.add(id);
                    if (sinceId != null && missed.isPresent()) {
                        missed.get().forEach(this::offerTaskLevel);
                    } else {
                        snapshotsDue.add(id);
                    }
                }
            });
        }
        return missing;
    }

    /** Every job of the tenant, present and future, as coalesced summaries. */
    public void subscribeAll() {
        log.locked(() -> {
            synchronized (this) {
                allJobs = true;
                for (JobSummary s : view.list(tenant)) {
                    summaries.put(s.jobId(), s);
                }
            }
        });
    }

    public synchronized void unsubscribe(List<String> jobIds) {
        jobIds.forEach(jobs::remove);
        queue.removeIf(e -> jobIds.contains(e.jobId()));
        progress.values().removeIf(e -> jobIds.contains(e.jobId()));
        jobIds.forEach(snapshotsDue::remove);
    }

    public synchronized void unsubscribeAll() {
        allJobs = false;
        summaries.clear();
    }

    /** Called by the event log for every update, in order. */
    public synchronized void offer(LiveEvent e) {
        JobSummary job = e.update().job();
        if (!job.tenant().equals(tenant)) {
            return;
        }
        if (jobs.contains(e.jobId())) {
            offerTaskLevel(e);
        }
        if (allJobs) {
            summaries.put(e.jobId(), job);
        }
    }

    private void offerTaskLevel(LiveEvent e) {
        if (snapshotsDue.contains(e.jobId())) {
            return; // the snapshot, taken when it is sent, will hold this update
        }
        if (e.update().droppable()) {
            LiveEvent old = progress.put(e.taskId(), e);
            if (old != null) {
                progressReplaced++;
                JobUpdate u = e.update();
                if (u.previewPng() == null && old.update().previewPng() != null) {
                    // previews come every few steps; carry the last one forward so coalescing does not drop them
                    progress.put(e.taskId(), new LiveEvent(e.seq(), new JobUpdate(u.type(), u.event(), u.job(), u.task(),
                            old.update().previewPng()), log.idOf(e.seq())));
                }
            }
            return;
        }
        if (e.taskId() != null) {
            progress.remove(e.taskId()); // older progress must not arrive after the task's new state
        }
        queue.addLast(e);
        if (queue.size() > MAX_QUEUED) {
            overflows++;
            for (LiveEvent q : queue) {
                snapshotsDue.add(q.jobId());
            }
            queue.clear();
            progress.clear();
        }
    }

    /** Sends what is waiting as one frame (plus any snapshots due), unless the client is behind. */
    public void flush() {
        if (sink.writeQueueFull()) {
            return;
        }
        Set<String> due;
        synchronized (this) {
            due = new LinkedHashSet<>(snapshotsDue);
            snapshotsDue.clear();
        }
        // snapshots are taken under the log's lock (never while holding this session's: the log
        // calls offer() holding its own), so every update up to lastSeq is in them
        Map<String, JobSnapshot> snapshots = new LinkedHashMap<>();
        long[] at = new long[1];
        if (!due.isEmpty()) {
            log.locked(() -> {
                at[0] = log.lastSeq();
                for (String id : due) {
                    view.snapshot(id).ifPresent(s -> snapshots.put(id, s));
                }
            });
        }
        List<String> frames = new ArrayList<>();
        synchronized (this) {
            for (Map.Entry<String, JobSnapshot> s : snapshots.entrySet()) {
                queue.removeIf(q -> q.jobId().equals(s.getKey()) && q.seq() <= at[0]);
                progress.values().removeIf(q -> q.jobId().equals(s.getKey()) && q.seq() <= at[0]);
                frames.add(toJson(Map.of("type", "snapshot", "last_id", log.idOf(at[0]), "job", s.getValue().job(),
                        "tasks", s.getValue().tasks())));
            }
            // events are joined as ready-made JSON: each is serialised once for all clients
            StringBuilder events = new StringBuilder();
            long last = 0;
            for (LiveEvent e : queue) {
                events.append(events.length() == 0 ? "" : ",").append(e.json());
                last = Math.max(last, e.seq());
            }
            for (LiveEvent e : progress.values()) {
                events.append(events.length() == 0 ? "" : ",").append(e.json());
                last = Math.max(last, e.seq());
            }
            for (JobSummary s : summaries.values()) {
                events.append(events.length() == 0 ? "" : ",").append(toJson(Map.of("type", "job", "event", "summary", "job", s)));
            }
            queue.clear();
            progress.clear();
            summaries.clear();
            if (events.length() > 0) {
                frames.add("{\"type\":\"events\"" + (last > 0 ? ",\"last_id\":\"" + log.idOf(last) + "\"" : "")
                        + ",\"events\":[" + events + "]}");
            }
            framesSent += frames.size();
        }
        frames.forEach(sink::send);
    }

    /** Whether this session writes to the given sink. */
    public boolean sinkIs(FrameSink other) {
        return sink == other;
    }

    public synchronized SessionStats stats() {
        return new SessionStats(jobs.size(), allJobs, queue.size(), framesSent, overflows, progressReplaced);
    }

    /** Counters of one session, for tests and metrics. */
    public record SessionStats(int jobs, boolean allJobs, int queued, long framesSent, long overflows, long progressReplaced) {}

    private static String toJson(Object o) {
        try {
            return Json.mapper().writeValueAsString(o);
        } catch (Exception e) {
            throw new IllegalStateException("cannot serialize a websocket frame", e);
        }
    }
}
