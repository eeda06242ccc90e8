package dev.cnfarm.coordinator.http;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.coordinator.api.FieldError;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Map;

/** JSON responses, all through the farm's one mapper so field names are snake_case everywhere. */
final class Responses {
    private Responses() {}

    static void json(RoutingContext ctx, int status, Object body) {
        String text;
        try {
            text = Json.mapper().writeValueAsString(body);
        } catch (Exception e) {
            status = 500;
            text = "{\"error\":\"response could not be serialized\"}";
        }
        ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(text);
    }

    /** An error body: {@code {"error": "...", "fields": [{"field": "...", "message": "..."}]}}. */
    static void error(RoutingContext ctx, int status, String message, List<FieldError> fields) {
        json(ctx, status, Map.of("error", message, "fields", fields));
    }

    static void error(RoutingContext ctx, int status, String message) {
        error(ctx, status, message, List.of());
    }

    static String toJson(Object body) {
        try {
            return Json.mapper().writeValueAsString(body);
        } catch (Exception e) {
            throw new IllegalStateException("cannot serialize " + body.getClass().getSimpleName(), e);
        }
    }
}
