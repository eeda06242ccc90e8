package dev.cnfarm.coordinator.live;

import dev.cnfarm.coordinator.state.JobUpdate;
import dev.cnfarm.coordinator.state.JobView;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Numbers every update of the {@link JobView} and keeps, per job, the most recent updates that
 * must not be lost (everything but step progress), so a client that reconnects with the last id it
 * saw gets what it missed instead of a whole snapshot.
 *
 * <p>Ids are only meaningful within one coordinator run: task states reach a coordinator in an
 * order that depends on its Kafka partitions, so two coordinators (or one after a restart) number
 * them differently. An id from another run, or one older than what a job's ring still holds, is
 * answered with a snapshot, which holds every task's state: a resume never has a gap.
 */
public final class EventLog {
    /** Updates kept per job for resuming; a 10,000-task job makes about 2 per task. */
    public static final int RING_PER_JOB = 4096;

    private final String epoch = UUID.randomUUID().toString().substring(0, 8);
    private final Map<String, Ring> rings = new HashMap<>();
    private final List<Consumer<LiveEvent>> listeners = new CopyOnWriteArrayList<>();
    private final int ringSize;
    private long seq;

    public EventLog(JobView view) {
        this(view, RING_PER_JOB);
    }

    EventLog(JobView view, int ringSize) {
        this.ringSize = ringSize;
        view.onUpdate(this::append);
    }

    /** This run's name; event ids are {@code epoch-seq}. */
    public String epoch() {
        return epoch;
    }

    public String idOf(long seq) {
        return epoch + "-" + seq;
    }

    /** Parses an id from this run, or returns -1 for an id of another run or one that does not parse. */
    public long seqOf(String id) {
        if (id == null || !id.startsWith(epoch + "-")) {
            return -1;
        }
        try {
            return Long.parseLong(id.substring(epoch.length() + 1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    public void onEvent(Consumer<LiveEvent> listener) {
        listeners.add(listener);
    }

    /** Updates come from the state feed and from local submits; one lock keeps ids and delivery in the same order. */
    synchronized void append(JobUpdate update) {
        LiveEvent event = new LiveEvent(++seq, update, idOf(seq));
        if (!update.droppable()) {
            rings.computeIfAbsent(event.jobId(), k -> new Ring()).add(event, ringSize);
        }
        for (Consumer<LiveEvent> l : listeners) {
            l.accept(event);
        }
    }

    public synchronized long lastSeq() {
        return seq;
    }

    /**
     * Runs {@code action} with the updates of a job after {@code afterSeq} (empty when the ring no
     * longer reaches back that far), while no new update can be appended, so an action that
     * registers a subscriber neither misses nor reorders anything.
     */
    public synchronized void withEventsSince(String jobId, long afterSeq, Consumer<Optional<List<LiveEvent>>> action) {
        Ring ring = rings.get(jobId);
        if (afterSeq < 0 || afterSeq > seq) {
            action.accept(Optional.empty());
        } else if (ring == null) {
            action.accept(Optional.of(List.of()));
        } else if (ring.evictedUpTo > afterSeq) {
            action.accept(Optional.empty());
        } else {
            List<LiveEvent> out = new ArrayList<>();
            for (LiveEvent e : ring.events) {
                if (e.seq() > afterSeq) {
                    out.add(e);
                }
            }
            action.accept(Optional.of(out));
        }
    }

    /** Runs {@code action} while no update can be appended. */
    public synchronized void locked(Runnable action) {
        action.run();
    }

    private static final class Ring {
        final ArrayDeque<LiveEvent> events = new ArrayDeque<>();
        long evictedUpTo;

        void add(LiveEvent e, int max) {
            events.addLast(e);
            while (events.size() > max) {
                evictedUpTo = events.removeFirst().seq();
            }
        }
    }
}
