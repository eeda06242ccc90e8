package dev.cnfarm.coordinator.http;

import dev.cnfarm.coordinator.state.JobUpdate;
import dev.cnfarm.coordinator.state.JobView;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code /ws/jobs/{id}}: the first frame is the job's snapshot ({@code {"type":"snapshot",...}}),
 * then one frame per change ({@code {"type":"task"|"job",...}}). When a client reads too slowly,
 * progress frames are dropped for it; results and state changes are always sent, so a slow client
 * slows nobody else and still learns every outcome.
 */
public final class JobSocket {
    private final JobView view;
    private final Map<String, Set<ServerWebSocket>> subscribers = new ConcurrentHashMap<>();

    public JobSocket(JobView view) {
        this.view = view;
        view.onUpdate(this::broadcast);
    }

    public void mount(Router router) {
        router.route("/ws/jobs/:id").handler(this::connect);
    }

    /** Number of open job sockets, for tests and metrics. */
    public int subscriberCount() {
        return subscribers.values().stream().mapToInt(Set::size).sum();
    }

    private void connect(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        if (view.summary(id).filter(s -> s.tenant().equals(ApiRoutes.TENANT)).isEmpty()) {
            Responses.error(ctx, 404, "job '" + id + "' not found");
            return;
        }
        ctx.request().toWebSocket().onSuccess(ws -> attach(ws, id)).onFailure(e ->
                Responses.error(ctx, 400, "websocket upgrade failed: " + e.getMessage()));
    }

    private void attach(ServerWebSocket ws, String id) {
        Set<ServerWebSocket> set = subscribers.computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet());
        // register first, then send the snapshot: an update racing with the snapshot is sent twice
        // at worst, never lost (clients treat frames as idempotent state)
        set.add(ws);
        ws.closeHandler(v -> set.remove(ws));
        view.snapshot(id).ifPresent(s -> ws.writeTextMessage(Responses.toJson(Map.of(
                "type", "snapshot", "job", s.job(), "tasks", s.tasks()))));
    }

    /** Called on the state feed's thread; Vert.x hands each write to the socket's own event loop. */
    private void broadcast(JobUpdate update) {
        Set<ServerWebSocket> set = subscribers.get(update.job().jobId());
        if (set == null || set.isEmpty()) {
            return;
        }
        String frame = Responses.toJson(update);
        for (ServerWebSocket ws : set) {
            if (update.droppable() && ws.writeQueueFull()) {
                continue;
            }
            ws.writeTextMessage(frame);
        }
    }
}
