package dev.cnfarm.coordinator.http;

import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The web dashboard: static files from the classpath ({@code dashboard/}), with no external CDN,
 * so it works on a farm without internet access. The page talks to the REST API and the
 * websocket protocol like any other client; {@code /} leads to it.
 */
public final class Dashboard {
    public static final String PATH = "/dashboard/";

    public void mount(Router router) {
        router.get("/").handler(ctx -> ctx.response().setStatusCode(302).putHeader("location", PATH).end());
        router.get(PATH + "*").handler(StaticHandler.create("dashboard").setCachingEnabled(false).setIndexPage("index.html"));
    }
}
