package dev.cnfarm.coordinator.http;

import dev.cnfarm.coordinator.auth.Principal;
import dev.cnfarm.coordinator.auth.TokenRegistry;
import io.vertx.core.Handler;
import io.vertx.core.http.Cookie;
import io.vertx.ext.web.RoutingContext;
import java.util.Optional;

/**
 * Works out who a request acts for and refuses it with 401 when nobody: the token comes from an
 * {@code Authorization: Bearer} header (the CLI, scripts) or from the {@value #COOKIE} cookie that
 * {@code POST /api/v1/session} sets for the dashboard, since a browser cannot add headers to
 * {@code <img src>} or websocket requests. The answer never says whether a token exists, only
 * that the one given is not valid.
 */
public final class Authenticator implements Handler<RoutingContext> {
    static final String PRINCIPAL = "farm.principal";
    static final String COOKIE = "farm_token";
    static final String CHALLENGE = "Bearer realm=\"farm\"";

    private final TokenRegistry tokens;
    private final boolean required;

    /** @param required false with {@code coordinator.auth=off}: every request acts for the tenant {@code default} */
    public Authenticator(TokenRegistry tokens, boolean required) {
        this.tokens = tokens;
        this.required = required;
    }

    @Override
    public void handle(RoutingContext ctx) {
        if (!required) {
            ctx.put(PRINCIPAL, Principal.unauthenticatedDefault());
            ctx.next();
            return;
        }
        String header = ctx.request().getHeader("Authorization");
        String presented;
        if (header != null) {
            if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
                refuse(ctx, "send the token as 'Authorization: Bearer <token>'");
                return;
            }
            presented = header.substring(7).trim();
        } else {
            Cookie cookie = ctx.request().getCookie(COOKIE);
            presented = cookie == null ? null : cookie.getValue();
        }
        if (presented == null || presented.isEmpty()) {
            refuse(ctx, "this call needs an API token: send 'Authorization: Bearer <token>' (the CLI reads api.token or "
                    + "FARM_API_TOKEN; an operator makes one with `farm tokens create --tenant NAME`)");
            return;
        }
        Optional<Principal> who = tokens.authenticate(presented);
        if (who.isEmpty()) {
            refuse(ctx, "the API token is not valid: it is unknown, revoked or mistyped; ask an operator for a new one");
            return;
        }
        ctx.put(PRINCIPAL, who.get());
        ctx.next();
    }

    /** Who the request acts for; set by this handler on every route it guards. */
    static Principal principal(RoutingContext ctx) {
        Principal p = ctx.get(PRINCIPAL);
        if (p == null) {
            throw new IllegalStateException("route " + ctx.normalizedPath() + " is not behind the authenticator");
        }
        return p;
    }

    private static void refuse(RoutingContext ctx, String message) {
        ctx.response().putHeader("WWW-Authenticate", CHALLENGE);
        Responses.error(ctx, 401, message);
    }
}
