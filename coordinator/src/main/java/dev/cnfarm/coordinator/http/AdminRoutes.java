package dev.cnfarm.coordinator.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.coordinator.api.FieldError;
import dev.cnfarm.coordinator.auth.Principal;
import dev.cnfarm.coordinator.auth.Role;
import dev.cnfarm.coordinator.auth.TokenAdmin;
import dev.cnfarm.coordinator.auth.TokenRegistry;
import dev.cnfarm.proto.v1.ApiToken;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Token management over REST for admin tokens: {@code GET, POST /api/v1/admin/tokens} and
 * {@code DELETE /api/v1/admin/tokens/{id}}. The same as {@code farm tokens}, for operators who
 * hold an admin token but not the Kafka credentials. Hashes never leave the coordinator; a new
 * token's secret is in the creation answer only.
 */
public final class AdminRoutes {
    private final Vertx vertx;
    private final TokenAdmin admin;
    private final TokenRegistry registry;

    public AdminRoutes(Vertx vertx, TokenAdmin admin, TokenRegistry registry) {
        this.vertx = vertx;
        this.admin = admin;
        this.registry = registry;
    }

    public void mount(Router router) {
        router.route("/api/v1/admin/*").handler(ctx -> {
            Principal who = Authenticator.principal(ctx);
            if (!who.isAdmin()) {
                Responses.error(ctx, 403, "this call needs an admin token; tenant '" + who.tenant() + "' has a tenant token");
                return;
            }
            ctx.next();
        });
        router.get("/api/v1/admin/tokens").handler(ctx ->
                Responses.json(ctx, 200, Map.of("tokens", registry.list().stream().map(AdminRoutes::describe).toList())));
        router.post("/api/v1/admin/tokens").handler(this::create);
        router.delete("/api/v1/admin/tokens/:id").handler(this::revoke);
    }

    private void create(RoutingContext ctx) {
        JsonNode body;
        try {
            body = Json.mapper().readTree(ctx.body().asString());
        } catch (Exception e) {
            body = null;
        }
        if (body == null || !body.isObject()) {
            Responses.error(ctx, 400, "send {\"tenant\": NAME, \"role\": \"tenant\"|\"admin\", \"name\": TEXT}",
                    List.of(new FieldError("body", "must be a JSON object")));
            return;
        }
        String roleText = body.path("role").asText("tenant");
        if (!roleText.equals("tenant") && !roleText.equals("admin")) {
            Responses.error(ctx, 400, "invalid token request", List.of(new FieldError("role", "must be tenant or admin")));
            return;
        }
        String tenant = body.path("tenant").isTextual() ? body.get("tenant").asText() : null;
        String name = body.path("name").asText("");
        Role role = roleText.equals("admin") ? Role.ADMIN : Role.TENANT;
        vertx.executeBlocking(() -> admin.create(tenant, role, name), false).onComplete(ar -> {
            if (ar.succeeded()) {
                registry.apply(ar.result().record().getTokenId(), ar.result().record()); // usable here at once
                Map<String, Object> out = describe(ar.result().record());
                out.put("token", ar.result().token());
                Responses.json(ctx, 201, out);
            } else if (ar.cause() instanceof TokenAdmin.InvalidTokenRequest bad) {
                Responses.error(ctx, 400, "invalid token request: " + bad.getMessage(), List.of(new FieldError(bad.field(),
                        bad.getMessage().substring(bad.field().length() + 2))));
            } else {
                Responses.error(ctx, 503, "the token could not be stored just now; try again: " + ar.cause().getMessage());
            }
        });
    }

    private void revoke(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        var current = registry.get(id);
        if (current.isEmpty()) {
            Responses.error(ctx, 404, "no token with id '" + id + "'");
            return;
        }
        vertx.executeBlocking(() -> admin.revoke(current.get()), false).onComplete(ar -> {
            if (ar.succeeded()) {
                registry.apply(id, ar.result());
                Responses.json(ctx, 200, describe(ar.result()));
            } else {
                Responses.error(ctx, 503, "the revocation could not be stored just now; try again: " + ar.cause().getMessage());
            }
        });
    }

    static Map<String, Object> describe(ApiToken t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("token_id", t.getTokenId());
        m.put("tenant", t.getTenant());
        m.put("role", Role.of(t.getRole()).label());
        m.put("name", t.getName());
        m.put("created_at_ms", t.getCreatedAtMs());
        m.put("revoked_at_ms", t.getRevokedAtMs());
        return m;
    }
}
