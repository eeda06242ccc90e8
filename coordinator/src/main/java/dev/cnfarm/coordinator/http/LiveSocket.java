package dev.cnfarm.coordinator.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.coordinator.live.ClientSession;
import dev.cnfarm.coordinator.live.EventLog;
import dev.cnfarm.coordinator.live.FrameSink;
import dev.cnfarm.coordinator.state.JobView;
import io.vertx.core.Vertx;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The live-progress websockets (protocol in {@code docs/websocket.md}): {@code /ws}, where the
 * client subscribes with JSON frames, and {@code /ws/jobs/{id}}, already subscribed to one job.
 * Every session is flushed every {@link #FLUSH_MS} ms on a Vert.x timer.
 */
public final class LiveSocket {
    public static final int PROTOCOL_VERSION = 1;
    static final long FLUSH_MS = 100;
    /** Bytes a client may leave unread before its session holds back (progress coalesces meanwhile). */
    static final int WRITE_QUEUE_BYTES = 256 * 1024;

    private final Vertx vertx;
    private final JobView view;
    private final EventLog log;
    private final Set<ClientSession> sessions = ConcurrentHashMap.newKeySet();
    private long timer = -1;

    public LiveSocket(Vertx vertx, JobView view) {
        this.vertx = vertx;
        this.view = view;
        this.log = new EventLog(view);
        log.onEvent(e -> sessions.forEach(s -> s.offer(e)));
    }

    /**
     * @param auth   checks the upgrade request's token (header, or the dashboard's cookie) before
     *               any frame is sent; a session then sees only its tenant's jobs
     */
    public void mount(Router router, Authenticator auth, RateLimits limits) {
        router.route("/ws").handler(auth).handler(limits);
        router.route("/ws/jobs/:id").handler(auth).handler(limits);
        router.route("/ws").handler(ctx -> upgrade(ctx, null));
        router.route("/ws/jobs/:id").handler(ctx -> {
            String id = ctx.pathParam("id");
            String tenant = Authenticator.principal(ctx).tenant();
            if (view.summary(id).filter(s -> s.tenant().equals(tenant)).isEmpty()) {
                Responses.error(ctx, 404, "job '" + id + "' not found");
                return;
            }
            upgrade(ctx, id);
        });
        timer = vertx.setPeriodic(FLUSH_MS, t -> sessions.forEach(ClientSession::flush));
    }

    public void stop() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }

    /** Open sessions, for tests and metrics. */
    public List<ClientSession.SessionStats> sessionStats() {
        return sessions.stream().map(ClientSession::stats).toList();
    }

    private void upgrade(RoutingContext ctx, String jobId) {
        String tenant = Authenticator.principal(ctx).tenant();
        ctx.request().toWebSocket().onSuccess(ws -> attach(ws, tenant, jobId)).onFailure(e ->
                Responses.error(ctx, 400, "websocket upgrade failed: " + e.getMessage()));
    }

    private void attach(ServerWebSocket ws, String tenant, String jobId) {
        ws.setWriteQueueMaxSize(WRITE_QUEUE_BYTES);
        ClientSession session = new ClientSession(tenant, new FrameSink() {
            @Override
            public boolean writeQueueFull() {
                return ws.writeQueueFull();
            }

            @Override
            public void send(String frame) {
                if (ws.isClosed()) {
                    return; // the close handler removes the session; a flush may still be under way
                }
                ws.writeTextMessage(frame).onFailure(e -> sessions.removeIf(s -> s.sinkIs(this)));
            }
        }, view, log);
        sessions.add(session);
        ws.closeHandler(v -> sessions.remove(session));
        ws.exceptionHandler(e -> sessions.remove(session));
        ws.writeTextMessage(Responses.toJson(Map.of("type", "hello", "protocol", PROTOCOL_VERSION, "coordinator", log.epoch())));
        if (jobId != null) {
            session.subscribe(List.of(jobId), null);
            session.flush();
        }
        ws.textMessageHandler(text -> handle(ws, session, text));
    }

    private void handle(ServerWebSocket ws, ClientSession session, String text) {
        JsonNode msg;
        try {
            msg = Json.mapper().readTree(text);
        } catch (Exception e) {
            error(ws, "frame", "not JSON; send an object such as {\"type\":\"subscribe\",\"jobs\":[\"JOB_ID\"]}");
            return;
        }
        if (msg == null || !msg.isObject()) {
            error(ws, "frame", "send a JSON object such as {\"type\":\"subscribe\",\"jobs\":[\"JOB_ID\"]}");
            return;
        }
        String type = msg.path("type").asText("");
        switch (type) {
            case "subscribe", "unsubscribe" -> {
                boolean all = msg.path("all").asBoolean(false);
                JsonNode jobs = msg.path("jobs");
                if (!all && (!jobs.isArray() || jobs.isEmpty())) {
                    error(ws, "jobs", "give a non-empty array of job ids, or \"all\": true for every job");
                    return;
                }
                List<String> ids = new ArrayList<>();
                for (JsonNode j : jobs) {
                    if (!j.isTextual()) {
                        error(ws, "jobs", "job ids are strings");
                        return;
                    }
                    ids.add(j.asText());
                }
                JsonNode since = msg.path("since");
                if (!since.isMissingNode() && !since.isNull() && !since.isTextual()) {
                    error(ws, "since", "the last event id seen, a string such as \"" + log.idOf(42) + "\"");
                    return;
                }
                if (type.equals("unsubscribe")) {
                    if (all) {
                        session.unsubscribeAll();
                    }
                    session.unsubscribe(ids);
                    return;
                }
                if (all) {
                    session.subscribeAll();
                }
                List<String> missing = session.subscribe(ids, since.isTextual() ? since.asText() : null);
                if (!missing.isEmpty()) {
                    error(ws, "jobs", "not found: " + String.join(", ", missing));
                }
                session.flush();
            }
            case "ping" -> ws.writeTextMessage("{\"type\":\"pong\"}");
            default -> error(ws, "type", "unknown frame type '" + type + "'; use subscribe, unsubscribe or ping");
        }
    }

    private static void error(ServerWebSocket ws, String field, String message) {
        ws.writeTextMessage(Responses.toJson(Map.of("type", "error", "field", field, "message", message)));
    }
}
