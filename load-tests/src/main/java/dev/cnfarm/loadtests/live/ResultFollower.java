package dev.cnfarm.loadtests.live;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import java.net.http.WebSocket;
import java.util.BitSet;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A websocket client of the live-progress protocol that records which tasks it has seen succeed,
 * from result events or from snapshots (which a client gets after falling far behind), and counts
 * frames and events. A stalled follower reads its first frame and then nothing more, so the
 * server's buffers for it fill up.
 */
public final class ResultFollower implements WebSocket.Listener {
    private final boolean stalled;
    private final BitSet seen = new BitSet();
    private final AtomicLong events = new AtomicLong();
    private final AtomicLong frames = new AtomicLong();
    private final AtomicLong snapshots = new AtomicLong();
    private final StringBuilder partial = new StringBuilder();

    public ResultFollower(boolean stalled) {
        this.stalled = stalled;
    }

    @Override
    public void onOpen(WebSocket ws) {
        ws.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
            read(partial.toString());
            partial.setLength(0);
        }
        if (!stalled) {
            ws.request(1);
        }
        return null;
    }

    private void read(String text) {
        frames.incrementAndGet();
        JsonNode f;
        try {
            f = Json.mapper().readTree(text);
        } catch (Exception e) {
            throw new IllegalStateException("a frame that is not JSON: " + text, e);
        }
        if (f.path("type").asText().equals("snapshot")) {
            snapshots.incrementAndGet();
        }
        synchronized (seen) {
            for (JsonNode t : f.path("tasks")) {
                if (t.path("state").asText().equals("succeeded")) {
                    seen.set(t.path("index").asInt());
                }
            }
            for (JsonNode e : f.path("events")) {
                events.incrementAndGet();
                if (e.path("event").asText().equals("result")) {
                    seen.set(e.path("task").path("index").asInt());
                }
            }
        }
    }

    /** Distinct tasks seen succeeded. */
    public int results() {
        synchronized (seen) {
            return seen.cardinality();
        }
    }

    public long events() {
        return events.get();
    }

    public long frames() {
        return frames.get();
    }

    public long snapshots() {
        return snapshots.get();
    }
}
