package dev.cnfarm.coordinator.outputs;

import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.coordinator.state.JobView;
import dev.cnfarm.coordinator.state.TaskSnapshot;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.TaskPhase;
import dev.cnfarm.proto.v1.TaskStateRecord;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes the objects of attempts whose result was not recorded. Each attempt writes under its
 * own key ({@code 000007.a2-1.png}, with its control maps and sidecar beside it), and the scheduler
 * records at most one result per task, so an attempt that finished after losing its lock (a worker
 * paused past its lock, a network split) leaves an image no result names. Workers stop such
 * attempts when they notice; this catches the ones that finished before they could.
 *
 * <p>The rule is safe by construction: a result event's objects are removed only once its task has
 * ended, and only when the task's recorded result names another key (or the task did not succeed).
 * A task never changes after it ends, so a removed object can never become the recorded one. A
 * result event for a task still running waits here until its end arrives.
 *
 * <p>Several coordinators may each remove the same objects: removals are idempotent. Results that
 * arrive while no coordinator runs are not seen (a rare leftover, not a wrong answer).
 */
public final class StaleOutputSweeper implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StaleOutputSweeper.class);
    /** Result events waiting for their task to end, at most this many (the oldest are dropped). */
    private static final int MAX_WAITING = 100_000;
    private static final Set<String> ENDED = Set.of("succeeded", "failed", "cancelled");

    private final JobView view;
    private final ObjectStore store;
    private final ExecutorService removals = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "stale-output-sweeper");
        t.setDaemon(true);
        return t;
    });
    /** Output keys of result events by task id, while the task runs. */
    private final Map<String, List<String>> waiting = new LinkedHashMap<>();
    private final AtomicLong removed = new AtomicLong();

    public StaleOutputSweeper(JobView view, ObjectStore store) {
        this.view = view;
        this.store = store;
    }

    /** Starts hearing the view's result events and task ends. */
    public void attach() {
        view.onResultEvent(this::onResult);
        view.onTaskState(this::onTaskState);
    }

    /** A worker's result event (any attempt's, current or stale). */
    public void onResult(TaskEvent e) {
        if (!e.hasResult() || !e.getResult().hasOutput()) {
            return;
        }
        String key = e.getResult().getOutput().getKey();
        TaskSnapshot task = view.task(e.getJobId(), (int) e.getTaskIndex()).orElse(null);
        if (task != null && ENDED.contains(task.state())) {
            decide(key, task.state().equals("succeeded") ? task.outputKey() : null);
            return;
        }
        synchronized (waiting) {
            waiting.computeIfAbsent(e.getTaskId(), k -> new ArrayList<>(1)).add(key);
            if (waiting.size() > MAX_WAITING) {
                var oldest = waiting.keySet().iterator();
                oldest.next();
                oldest.remove();
            }
        }
    }

    /** A task's new state: once it has ended, the results waiting for it are decided. */
    public void onTaskState(TaskStateRecord s) {
        TaskPhase p = s.getPhase();
        if (p != TaskPhase.TASK_PHASE_SUCCEEDED && p != TaskPhase.TASK_PHASE_FAILED && p != TaskPhase.TASK_PHASE_CANCELLED) {
            return;
        }
        List<String> keys;
        synchronized (waiting) {
            keys = waiting.remove(s.getTaskId());
        }
        if (keys != null) {
            String recorded = p == TaskPhase.TASK_PHASE_SUCCEEDED ? s.getResult().getOutput().getKey() : null;
            keys.forEach(k -> decide(k, recorded));
        }
    }

    private void decide(String key, String recorded) {
        if (key.equals(recorded)) {
            return; // the recorded result itself (or a duplicate of its event)
        }
        removals.execute(() -> remove(key));
    }

    /** Removes the image, its control maps and its sidecar. */
    private void remove(String key) {
        try {
            List<String> keys = new ArrayList<>();
            keys.add(key);
            keys.add(ObjectKeys.sidecar(key));
            String stem = key.endsWith(".png") ? key.substring(0, key.length() - 4) : key;
            store.list(stem + ".control").stream().map(ObjectInfo::key).forEach(keys::add);
            for (String k : keys) {
                store.delete(k);
            }
            removed.addAndGet(keys.size());
            LOG.info("removed {} object(s) of a fenced attempt: {}", keys.size(), key);
        } catch (RuntimeException e) {
            LOG.warn("objects of the fenced attempt {} not removed: {}", key, e.toString());
        }
    }

    /** Objects removed so far. */
    public long removed() {
        return removed.get();
    }

    @Override
    public void close() {
        removals.shutdown();
        try {
            removals.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
