package dev.cnfarm.coordinator.live;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.coordinator.state.JobUpdate;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A job update with its place in this coordinator's event sequence. Its JSON is made once, on
 * first use, and shared by every client that receives it: with 100 clients, serialising per
 * client was what limited fan-out.
 *
 * @param seq increasing number, unique within one coordinator run ({@link EventLog#epoch()})
 */
public final class LiveEvent {
    private final long seq;
    private final JobUpdate update;
    private final String id;
    private volatile String json;

    public LiveEvent(long seq, JobUpdate update, String id) {
        this.seq = seq;
        this.update = update;
        this.id = id;
    }

    public long seq() {
        return seq;
    }

    public JobUpdate update() {
        return update;
    }

    public String jobId() {
        return update.job().jobId();
    }

    /** The task the event is about, or null for job-level events. */
    public String taskId() {
        return update.task() == null ? null : update.task().taskId();
    }

    /** {@code {"id": …, "type": …, "event": …, "job": {…}, "task": {…}, "preview_png": …}} */
    public String json() {
        String j = json;
        if (j == null) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", id);
            m.put("type", update.type());
            m.put("event", update.event());
            m.put("job", update.job());
            if (update.task() != null) {
                m.put("task", update.task());
            }
            if (update.previewPng() != null) {
                m.put("preview_png", update.previewPng());
            }
            try {
                j = Json.mapper().writeValueAsString(m);
            } catch (Exception e) {
                throw new IllegalStateException("cannot serialize a live event", e);
            }
            json = j;
        }
        return j;
    }
}
