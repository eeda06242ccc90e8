package dev.cnfarm.coordinator.http;

import dev.cnfarm.coordinator.auth.Principal;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-tenant request rate limits (a token bucket per tenant, Bucket4j): up to {@code burst} calls
 * at once, refilled at {@code perSecond}. Past it a call gets 429 with {@code Retry-After}, so one
 * team's runaway script slows only itself. The buckets live in this coordinator: behind a load
 * balancer over N coordinators a tenant gets up to N times the rate, which is the price of not
 * coordinating on every request.
 */
public final class RateLimits implements Handler<RoutingContext> {
    private final int perSecond;
    private final int burst;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    /** @param perSecond 0 turns the limit off */
    public RateLimits(int perSecond, int burst) {
        this.perSecond = perSecond;
        this.burst = Math.max(burst, 1);
    }

    @Override
    public void handle(RoutingContext ctx) {
        if (perSecond == 0) {
            ctx.next();
            return;
        }
        Principal who = Authenticator.principal(ctx);
        Bucket bucket = buckets.computeIfAbsent(who.tenant(), t -> Bucket.builder()
                .addLimit(limit -> limit.capacity(burst).refillGreedy(perSecond, Duration.ofSeconds(1)))
                .build());
        ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
        if (probe.isConsumed()) {
            ctx.response().putHeader("X-RateLimit-Remaining", Long.toString(probe.getRemainingTokens()));
            ctx.next();
            return;
        }
        long retryAfter = Math.max(1, (probe.getNanosToWaitForRefill() + 999_999_999L) / 1_000_000_000L);
        ctx.response().putHeader("Retry-After", Long.toString(retryAfter));
        Responses.error(ctx, 429, "too many requests: tenant '" + who.tenant() + "' may make " + perSecond
                + " calls a second (bursts of " + burst + "); retry after " + retryAfter + " s");
    }
}
