package dev.cnfarm.coordinator.http;

import dev.cnfarm.coordinator.auth.Principal;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.CookieSameSite;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;

/**
 * The dashboard's sign-in: {@code POST /api/v1/session} with a bearer token answers who it is and
 * sets an HttpOnly, SameSite=Strict cookie holding the token, so the page's fetches, images and
 * websocket carry it without script access to it and without other sites being able to send it.
 * {@code DELETE /api/v1/session} clears it.
 */
public final class SessionRoutes {
    static final long COOKIE_SECONDS = 12 * 3600;

    public void mount(Router router) {
        router.post("/api/v1/session").handler(this::signIn);
        router.delete("/api/v1/session").handler(ctx -> {
            ctx.response().addCookie(cookie(ctx, "").setMaxAge(0));
            Responses.json(ctx, 200, Map.of("signed_out", true));
        });
    }

    private void signIn(RoutingContext ctx) {
        Principal who = Authenticator.principal(ctx);
        String header = ctx.request().getHeader("Authorization");
        if (header == null) {
            Responses.error(ctx, 400, "sign in with the token in 'Authorization: Bearer <token>'");
            return;
        }
        ctx.response().addCookie(cookie(ctx, header.substring(7).trim()).setMaxAge(COOKIE_SECONDS));
        Responses.json(ctx, 200, Map.of("tenant", who.tenant(), "role", who.role().label()));
    }

    private static Cookie cookie(RoutingContext ctx, String value) {
        return Cookie.cookie(Authenticator.COOKIE, value).setPath("/").setHttpOnly(true).setSameSite(CookieSameSite.STRICT)
                .setSecure(ctx.request().isSSL());
    }
}
