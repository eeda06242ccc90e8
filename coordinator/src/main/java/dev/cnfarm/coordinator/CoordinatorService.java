package dev.cnfarm.coordinator;

import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.TopicSetup;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.coordinator.api.JobLimits;
import dev.cnfarm.coordinator.api.JobValidator;
import dev.cnfarm.coordinator.auth.Role;
import dev.cnfarm.coordinator.auth.TokenAdmin;
import dev.cnfarm.coordinator.auth.TokenRegistry;
import dev.cnfarm.coordinator.http.AdminRoutes;
import dev.cnfarm.coordinator.http.ApiRoutes;
import dev.cnfarm.coordinator.http.Authenticator;
import dev.cnfarm.coordinator.http.RateLimits;
import dev.cnfarm.coordinator.http.SessionRoutes;
import dev.cnfarm.coordinator.http.Dashboard;
import dev.cnfarm.coordinator.http.LiveSocket;
import dev.cnfarm.coordinator.jobs.CommandPublisher;
import dev.cnfarm.coordinator.jobs.JobActions;
import dev.cnfarm.coordinator.scheduler.SchedulerService;
import dev.cnfarm.coordinator.jobs.JobSubmitter;
import dev.cnfarm.coordinator.metrics.CoordinatorMetrics;
import dev.cnfarm.coordinator.notify.WebhookNotifier;
import dev.cnfarm.coordinator.state.JobView;
import dev.cnfarm.coordinator.outputs.StaleOutputSweeper;
import dev.cnfarm.coordinator.state.StateFeed;
import dev.cnfarm.coordinator.state.WorkerView;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator process: REST API and websockets over Vert.x, the job view fed from Kafka, the
 * command publisher, and the scheduler (Kafka Streams; one coordinator of several holds it at a
 * time). {@link #start} returns once the view has been rebuilt from Kafka, the scheduler runs, and
 * the HTTP server listens.
 */
public final class CoordinatorService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CoordinatorService.class);

    private final Vertx vertx;
    private final ObjectStore store;
    private final CommandPublisher publisher;
    private final SchedulerService scheduler;
    private final StateFeed feed;
    private final StaleOutputSweeper staleOutputs;
    private final JobView view;
    private final WorkerView workers;
    private final LiveSocket sockets;
    private final WebhookNotifier webhooks;
    private final TokenRegistry tokens;
    private final TokenAdmin tokenAdmin;
    private HttpServer server;

    private CoordinatorService(FarmConfig config) {
        Topics topics = new Topics(config.kafka().topicPrefix());
        try (Admin admin = KafkaClients.admin(config.kafka())) {
            TopicSetup.awaitBroker(admin, config.kafka(), Duration.ofSeconds(60));
            TopicSetup.ensure(admin, topics, config.kafka());
        }
        this.store = new MinioObjectStore(config.s3());
        store.ensureBucket();
        this.vertx = Vertx.vertx();
        this.view = new JobView();
        this.workers = new WorkerView(config.worker().heartbeatMs());
        view.describeWorkersWith(workers::device);
        this.publisher = new CommandPublisher(config.kafka(), topics);
        this.tokens = new TokenRegistry();
        this.tokenAdmin = new TokenAdmin(config.kafka(), topics);
        this.feed = new StateFeed(config.kafka(), topics, view, workers, tokens);
        this.staleOutputs = new StaleOutputSweeper(view, store);
        staleOutputs.attach();
        this.scheduler = new SchedulerService(config.kafka(), topics, config.scheduler());
        this.sockets = new LiveSocket(vertx, view);
        this.webhooks = new WebhookNotifier(view, () -> feed.isReady() && scheduler.holdsScheduler(),
                config.coordinator().webhookAttempts(), config.coordinator().webhookBackoffMs());
    }

    public static CoordinatorService start(FarmConfig config) {
        long t0 = System.nanoTime();
        CoordinatorService c = new CoordinatorService(config);
        try {
            c.feed.start();
            c.scheduler.start();
            if (!c.feed.awaitReady(Duration.ofMinutes(5))) {
                throw new IllegalStateException("the job view was not rebuilt from Kafka within 5 minutes");
            }
            if (!c.scheduler.awaitRunning(Duration.ofMinutes(5))) {
                throw new IllegalStateException("the scheduler did not start within 5 minutes (state " + c.scheduler.state() + ")");
            }
            JobSubmitter submitter = new JobSubmitter(
                    new JobValidator(JobLimits.defaults(config.coordinator().maxTasksPerJob())
                            .withMaxUploadBytes(config.coordinator().maxUploadBytes()), c.store::stat),
                    c.publisher, c.view, pool -> {
                        java.util.List<dev.cnfarm.coordinator.state.WorkerSnapshot> live = c.workers.list().stream()
                                .filter(w -> w.healthy() && w.pool().equals(pool)).toList();
                        if (live.isEmpty()) {
                            return java.util.Optional.empty();
                        }
                        // per model, the largest image one of its workers renders (0: a worker that does not say, so no limit)
                        java.util.Map<String, Long> largest = new java.util.HashMap<>();
                        for (var w : live) {
                            for (String m : w.loadedModels()) {
                                largest.merge(m, w.maxPixels(), (a, b) -> a == 0 || b == 0 ? 0 : Math.max(a, b));
                            }
                        }
                        return java.util.Optional.of(largest);
                    });
            Router router = Router.router(c.vertx);
            var settings = config.coordinator();
            Authenticator auth = new Authenticator(c.tokens, settings.requireTokens());
            RateLimits limits = new RateLimits(settings.rateLimitPerSecond(), settings.rateLimitBurst());
            new ApiRoutes(c.vertx, submitter, new JobActions(c.publisher, c.view), c.view, c.workers, c.store,
                    () -> c.feed.isReady() && c.scheduler.isRunning(), auth, limits, settings.maxUploadBytes(),
                    settings.maxActiveJobsPerTenant()).mount(router);
            new SessionRoutes().mount(router);
            new AdminRoutes(c.vertx, c.tokenAdmin, c.tokens).mount(router);
            c.sockets.mount(router, auth, limits);
            new Dashboard().mount(router);
            new CoordinatorMetrics(c.view, c.workers, c.sockets, c.feed::isReady).mount(router);
            c.server = c.vertx.createHttpServer().requestHandler(router)
                    .listen(config.coordinator().port(), config.coordinator().host())
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            c.close();
            throw new IllegalStateException("coordinator did not start: " + e.getMessage(), e);
        }
        LOG.info("coordinator ready at {} in {} ms ({} jobs rebuilt from {} records; {} API tokens{})", c.url(config),
                (System.nanoTime() - t0) / 1_000_000, c.view.jobCount(), c.feed.replayedRecords(), c.tokens.size(),
                config.coordinator().requireTokens() ? "" : ", but coordinator.auth=off: every call acts for tenant 'default'");
        return c;
    }

    public int port() {
        return server.actualPort();
    }

    /** The base URL clients use; a wildcard bind address is shown as localhost. */
    public String url(FarmConfig config) {
        String host = config.coordinator().host();
        if (host.equals("0.0.0.0") || host.equals("::")) {
            host = "127.0.0.1";
        }
        return "http://" + host + ":" + port();
    }

    /** Records read from Kafka to rebuild the view at start. */
    public long replayedRecords() {
        return feed.replayedRecords();
    }

    /**
     * Makes a token and makes it usable on this coordinator at once (others see it through their
     * feed within a moment): what local mode and tests use instead of {@code farm tokens create}.
     *
     * @return the token string, shown to its user once
     */
    public String issueToken(String tenant, Role role, String name) {
        TokenAdmin.Issued issued = tokenAdmin.create(tenant, role, name);
        tokens.apply(issued.record().getTokenId(), issued.record());
        return issued.token();
    }

    /** Revokes a token on this coordinator at once (and on the others through their feed). */
    public void revokeToken(String tokenId) {
        var current = tokens.get(tokenId).orElseThrow(() -> new TokenAdmin.UnknownTokenException(tokenId));
        tokens.apply(tokenId, tokenAdmin.revoke(current));
    }

    public TokenRegistry tokens() {
        return tokens;
    }

    public JobView view() {
        return view;
    }

    public LiveSocket sockets() {
        return sockets;
    }

    public WorkerView workers() {
        return workers;
    }

    @Override
    public void close() {
        if (server != null) {
            server.close().toCompletionStage().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).exceptionally(e -> null).join();
        }
        sockets.stop();
        webhooks.close();
        scheduler.close();
        feed.close();
        staleOutputs.close();
        publisher.close();
        tokenAdmin.close();
        store.close();
        vertx.close().toCompletionStage().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).exceptionally(e -> null).join();
    }
}
