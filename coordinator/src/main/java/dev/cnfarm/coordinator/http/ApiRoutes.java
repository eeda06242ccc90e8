package dev.cnfarm.coordinator.http;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.common.storage.StorageUnavailableException;
import dev.cnfarm.coordinator.api.FieldError;
import dev.cnfarm.coordinator.auth.Principal;
import dev.cnfarm.coordinator.api.InvalidJobException;
import dev.cnfarm.coordinator.jobs.IdempotencyConflictException;
import dev.cnfarm.coordinator.jobs.JobActions;
import dev.cnfarm.coordinator.jobs.JobNotStoredException;
import dev.cnfarm.coordinator.jobs.JobSubmitter;
import dev.cnfarm.coordinator.jobs.SubmitResult;
import dev.cnfarm.coordinator.state.JobSummary;
import dev.cnfarm.coordinator.state.JobView;
import dev.cnfarm.coordinator.state.TaskSnapshot;
import dev.cnfarm.coordinator.state.WorkerSnapshot;
import dev.cnfarm.coordinator.state.WorkerView;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The REST API, version 1. Every route under {@code /api/} first goes through the
 * {@link Authenticator} (who is calling) and the tenant's {@link RateLimits}; a handler then sees
 * only the caller's own jobs, uploads and outputs (an admin sees every tenant's). A job of another
 * tenant answers 404, exactly like a job that does not exist, so ids cannot be probed. Handlers
 * that touch Kafka or S3 run off the event loop.
 */
public final class ApiRoutes {
    /** Largest accepted request body: room for a job with ten thousand long prompts. */
    static final long MAX_BODY_BYTES = 32L * 1024 * 1024;
    static final long PRIORITY_BODY_BYTES = 4096;
    static final Duration URL_TTL = Duration.ofHours(1);
    private static final Logger LOG = LoggerFactory.getLogger(ApiRoutes.class);

    private final Vertx vertx;
    private final JobSubmitter submitter;
    private final JobView view;
    private final WorkerView workers;
    private final ObjectStore store;
    private final JobActions actions;
    private final java.util.function.BooleanSupplier ready;
    private final Authenticator auth;
    private final RateLimits limits;
    private final long maxUploadBytes;
    private final int maxActiveJobs;

    public ApiRoutes(Vertx vertx, JobSubmitter submitter, JobActions actions, JobView view, WorkerView workers, ObjectStore store,
                     java.util.function.BooleanSupplier ready, Authenticator auth, RateLimits limits, long maxUploadBytes,
                     int maxActiveJobs) {
        this.auth = auth;
        this.limits = limits;
        this.maxUploadBytes = maxUploadBytes;
        this.maxActiveJobs = maxActiveJobs;
        this.vertx = vertx;
        this.submitter = submitter;
        this.view = view;
        this.workers = workers;
        this.store = store;
        this.actions = actions;
        this.ready = ready;
    }

    public void mount(Router router) {
        // first, so that nobody without a valid token gets as far as sending a 32 MB body
        router.route("/api/*").handler(auth).handler(limits);
        router.post("/api/v1/*").handler(BodyHandler.create().setBodyLimit(MAX_BODY_BYTES));
        // a body past its route's limit: the API's JSON error shape, naming the limit (not Vert.x's plain-text 413)
        router.route("/api/*").failureHandler(ctx -> {
            if (ctx.statusCode() == 413) {
                long limit = ctx.request().path().endsWith("/priority") ? PRIORITY_BODY_BYTES : MAX_BODY_BYTES;
                Responses.error(ctx, 413, "the request body is larger than the limit of " + limit + " bytes", List.of(new FieldError("body",
                        "must be at most " + limit + " bytes" + (limit == MAX_BODY_BYTES ? " (a larger job: split it, or use rows "
                                + "in several jobs)" : ""))));
            } else {
                ctx.next();
            }
        });
        router.post("/api/v1/jobs").handler(this::submit);
        router.get("/api/v1/jobs").handler(this::list);
        router.get("/api/v1/jobs/:id").handler(this::get);
        router.get("/api/v1/jobs/:id/outputs").handler(this::outputs);
        router.get("/api/v1/jobs/:id/tasks/:index/image").handler(ctx -> redirectToObject(ctx, -1));
        router.get("/api/v1/jobs/:id/tasks/:index/control/:n").handler(ctx -> {
            String n = ctx.pathParam("n");
            if (!n.matches("[0-7]")) {
                Responses.error(ctx, 400, "control map number must be 0 to 7", List.of(new FieldError("n", "must be 0 to 7")));
                return;
            }
            redirectToObject(ctx, Integer.parseInt(n));
        });
        router.get("/api/v1/jobs/:id/tasks/:index/training").handler(this::training);
        router.get("/api/v1/jobs/:id/tasks/:index/sample").handler(this::latestSample);
        router.post("/api/v1/jobs/:id/cancel").handler(ctx -> act(ctx, (owner, id) -> actions.cancel(owner, id)));
        router.post("/api/v1/jobs/:id/suspend").handler(ctx -> act(ctx, (owner, id) -> actions.suspend(owner, id)));
        router.post("/api/v1/jobs/:id/resume").handler(ctx -> act(ctx, (owner, id) -> actions.resume(owner, id)));
        router.put("/api/v1/jobs/:id/priority").handler(BodyHandler.create().setBodyLimit(PRIORITY_BODY_BYTES)).handler(this::priority);
        router.post("/api/v1/uploads").handler(this::upload);
        router.get("/api/v1/workers").handler(this::workers);
        router.get("/api/v1/whoami").handler(ctx -> {
            Principal who = Authenticator.principal(ctx);
            Responses.json(ctx, 200, Map.of("tenant", who.tenant(), "role", who.role().label(), "token_id", who.tokenId()));
        });
        router.get("/health").handler(ctx -> Responses.json(ctx, 200, Map.of("status", "ok")));
        router.get("/health/ready").handler(ctx -> {
            boolean isReady = ready.getAsBoolean();
            Responses.json(ctx, isReady ? 200 : 503, Map.of("ready", isReady, "jobs", view.jobCount()));
        });
    }

    private void submit(RoutingContext ctx) {
        String body = ctx.body().asString();
        String key = ctx.request().getHeader("Idempotency-Key");
        boolean dryRun = "true".equals(ctx.queryParams().get("dry_run"));
        String tenant = Authenticator.principal(ctx).tenant();
        long active = view.activeJobCount(tenant);
        if (!dryRun && active >= maxActiveJobs && (key == null || view.jobForIdempotencyKey(tenant, key).isEmpty())) {
            ctx.response().putHeader("Retry-After", "60");
            Responses.error(ctx, 429, "tenant '" + tenant + "' has " + active + " unfinished jobs, the most it may have at once "
                    + "(coordinator.max-active-jobs-per-tenant); submit again when one has ended, or cancel one",
                    List.of(new FieldError("body", "too many unfinished jobs")));
            return;
        }
        vertx.executeBlocking(() -> submitter.submit(tenant, body, key, dryRun), false).onComplete(ar -> {
            if (ar.succeeded()) {
                SubmitResult r = ar.result();
                Map<String, Object> out = new LinkedHashMap<>();
                if (!dryRun) {
                    out.put("job_id", r.jobId());
                    out.put("created", r.created());
                }
                Map<String, Object> quote = new LinkedHashMap<>();
                quote.put("task_count", r.taskCount());
                quote.put("estimated_gpu_seconds", Math.round(r.estimatedGpuSeconds() * 1000) / 1000.0);
                if (!r.estimatedSecondsByDevice().isEmpty()) {
                    // what one worker of each device that has rendered this model would take
                    Map<String, Double> byDevice = new LinkedHashMap<>();
                    r.estimatedSecondsByDevice().forEach((d, s) -> byDevice.put(d, Math.round(s * 1000) / 1000.0));
                    quote.put("estimated_seconds_by_device", byDevice);
                }
                quote.put("mode", r.textToImage() ? "text_to_image" : "controlnet");
                if (!r.stages().isEmpty()) {
                    // a staged job: what each stage adds (the base pass, hires passes, tiles, blends)
                    quote.put("stages", r.stages().stream().map(st -> Map.of("name", st.name(), "task_count", st.taskCount(),
                            "estimated_gpu_seconds", Math.round(st.estimatedGpuSeconds() * 1000) / 1000.0)).toList());
                }
                if (dryRun) {
                    quote.put("control_images_to_upload", r.imagesToUpload());
                }
                out.put("quote", quote);
                Responses.json(ctx, dryRun || !r.created() ? 200 : 201, out);
                return;
            }
            Throwable e = ar.cause();
            if (e instanceof InvalidJobException bad) {
                Responses.error(ctx, 400, "invalid job: " + bad.getMessage(), bad.errors());
            } else if (e instanceof IdempotencyConflictException conflict) {
                Responses.error(ctx, 409, conflict.getMessage(), List.of(new FieldError("Idempotency-Key", conflict.getMessage())));
            } else if (e instanceof JobNotStoredException || e instanceof StorageUnavailableException) {
                LOG.warn("submit failed on infrastructure: {}", e.getMessage());
                Responses.error(ctx, 503, "the farm could not take the job just now, nothing was recorded; try again: " + e.getMessage());
            } else {
                LOG.error("submit failed", e);
                Responses.error(ctx, 500, "internal error: " + e);
            }
        });
    }

    /**
     * Runs an action on a job off the event loop and answers 202 with the job as it stands. The
     * action gets the job's owner: the caller's tenant, or for an admin the tenant the job belongs to.
     */
    private void act(RoutingContext ctx, java.util.function.BiConsumer<String, String> action) {
        String id = ctx.pathParam("id");
        String owner = ownerFor(Authenticator.principal(ctx), id);
        vertx.executeBlocking(() -> {
            action.accept(owner, id);
            return null;
        }, false).onComplete(ar -> {
            if (ar.succeeded()) {
                Responses.json(ctx, 202, Map.of("accepted", true, "job", view.summary(id).orElseThrow()));
                return;
            }
            Throwable e = ar.cause();
            if (e instanceof JobActions.JobNotFoundException) {
                Responses.error(ctx, 404, e.getMessage());
            } else if (e instanceof JobActions.JobStateException) {
                Responses.error(ctx, 409, e.getMessage());
            } else if (e instanceof IllegalArgumentException) {
                Responses.error(ctx, 400, e.getMessage(), List.of(new FieldError("priority", e.getMessage())));
            } else if (e instanceof JobNotStoredException) {
                Responses.error(ctx, 503, "the request could not be recorded just now; try again: " + e.getMessage());
            } else {
                LOG.error("job action failed", e);
                Responses.error(ctx, 500, "internal error: " + e);
            }
        });
    }

    private void priority(RoutingContext ctx) {
        int priority;
        try {
            var node = Json.mapper().readTree(ctx.body().asString());
            if (node == null || !node.path("priority").canConvertToInt() || !node.path("priority").isIntegralNumber()) {
                throw new IllegalArgumentException();
            }
            priority = node.get("priority").asInt();
        } catch (Exception e) {
            Responses.error(ctx, 400, "send {\"priority\": N} with N a whole number from " + JobActions.MIN_PRIORITY + " to "
                    + JobActions.MAX_PRIORITY, List.of(new FieldError("priority", "must be a whole number from "
                    + JobActions.MIN_PRIORITY + " to " + JobActions.MAX_PRIORITY)));
            return;
        }
        act(ctx, (owner, id) -> actions.setPriority(owner, id, priority));
    }

    /** The tenant whose job an action names: the caller's own, or for an admin the job's owner. */
    private String ownerFor(Principal who, String jobId) {
        if (who.isAdmin()) {
            return view.summary(jobId).map(JobSummary::tenant).orElse(who.tenant());
        }
        return who.tenant();
    }

    /** The job's summary if the caller may see it; empty for unknown jobs and other tenants' alike. */
    private Optional<JobSummary> visibleJob(RoutingContext ctx, String id) {
        Principal who = Authenticator.principal(ctx);
        return view.summary(id).filter(s -> who.mayAccess(s.tenant()));
    }

    private void list(RoutingContext ctx) {
        Principal who = Authenticator.principal(ctx);
        String tenant = ctx.queryParams().get("tenant");
        if (tenant != null && !who.isAdmin() && !tenant.equals(who.tenant())) {
            Responses.error(ctx, 403, "only an admin token may list another tenant's jobs", List.of(new FieldError("tenant",
                    "leave it out to list your own jobs")));
            return;
        }
        List<JobSummary> jobs = who.isAdmin() && tenant == null ? view.allSummariesNewestFirst()
                : view.list(tenant == null ? who.tenant() : tenant);
        Responses.json(ctx, 200, Map.of("jobs", jobs));
    }

    private void workers(RoutingContext ctx) {
        Principal who = Authenticator.principal(ctx);
        List<WorkerSnapshot> all = workers.list();
        if (!who.isAdmin()) {
            // the farm's machines are shared, but which task a worker holds is its owner's business
            all = all.stream().map(w -> w.currentTaskId().isEmpty() || ownsTask(who, w.currentTaskId()) ? w
                    : w.withCurrentTaskId("")).toList();
        }
        Responses.json(ctx, 200, Map.of("workers", all));
    }

    private boolean ownsTask(Principal who, String taskId) {
        int dash = taskId.lastIndexOf('-');
        return dash > 0 && view.summary(taskId.substring(0, dash)).filter(s -> s.tenant().equals(who.tenant())).isPresent();
    }

    private void get(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        Principal who = Authenticator.principal(ctx);
        view.snapshot(id).filter(s -> who.mayAccess(s.job().tenant())).ifPresentOrElse(
                s -> Responses.json(ctx, 200, s),
                () -> Responses.error(ctx, 404, "job '" + id + "' not found"));
    }

    private void outputs(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        if (visibleJob(ctx, id).isEmpty()) {
            Responses.error(ctx, 404, "job '" + id + "' not found");
            return;
        }
        List<TaskSnapshot> done = view.succeededTasks(id);
        vertx.executeBlocking(() -> {
            List<Map<String, Object>> out = new ArrayList<>();
            for (TaskSnapshot t : done) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("index", t.index());
                o.put("key", t.outputKey());
                o.put("sha256", t.outputSha256());
                o.put("size_bytes", t.outputSizeBytes());
                o.put("url", store.presignedGet(t.outputKey(), URL_TTL).toString());
                out.add(o);
            }
            return out;
        }, false).onComplete(ar -> {
            if (ar.succeeded()) {
                Responses.json(ctx, 200, Map.of("job_id", id, "outputs", ar.result()));
            } else {
                Responses.error(ctx, 503, "output links could not be made: " + ar.cause().getMessage());
            }
        });
    }

    /**
     * Redirects to a short-lived link to a finished task's image ({@code controlnet} -1) or to the
     * control map it was made with, so a page can show it with a plain {@code <img src>}.
     */
    /** A training task's loss curve and sample scores ({@code {"loss": [[step, loss]...], "samples": [...]}}). */
    private void training(RoutingContext ctx) {
        Optional<TaskSnapshot> task = visibleTask(ctx);
        if (task.isEmpty()) {
            return;
        }
        Optional<Map<String, Object>> history = view.trainingHistory(ctx.pathParam("id"), task.get().index());
        if (history.isEmpty()) {
            Responses.error(ctx, 404, "task " + task.get().index() + " of job '" + ctx.pathParam("id") + "' has reported no training "
                    + "steps to this coordinator (a render task, or a training task that has not started)");
            return;
        }
        Responses.json(ctx, 200, history.get());
    }

    /** A training task's latest sample grid: a redirect to the object. */
    private void latestSample(RoutingContext ctx) {
        Optional<TaskSnapshot> task = visibleTask(ctx);
        if (task.isEmpty()) {
            return;
        }
        String key = task.get().sampleKey();
        if (key == null || key.isEmpty()) {
            Responses.error(ctx, 404, "task " + task.get().index() + " of job '" + ctx.pathParam("id") + "' has no sample grid yet");
            return;
        }
        redirect(ctx, key);
    }

    /** The task the path names, when its job is visible to the caller; else answers 400 or 404 and returns empty. */
    private Optional<TaskSnapshot> visibleTask(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        int index;
        try {
            index = Integer.parseInt(ctx.pathParam("index"));
        } catch (NumberFormatException e) {
            Responses.error(ctx, 400, "task index must be a whole number", List.of(new FieldError("index", "must be a whole number")));
            return Optional.empty();
        }
        if (visibleJob(ctx, id).isEmpty()) {
            Responses.error(ctx, 404, "job '" + id + "' not found");
            return Optional.empty();
        }
        Optional<TaskSnapshot> task = view.task(id, index);
        if (task.isEmpty()) {
            Responses.error(ctx, 404, "job '" + id + "' has no task " + index);
        }
        return task;
    }

    private void redirectToObject(RoutingContext ctx, int controlnet) {
        Optional<TaskSnapshot> task = visibleTask(ctx);
        if (task.isEmpty()) {
            return;
        }
        if (!task.get().state().equals("succeeded")) {
            Responses.error(ctx, 404, "task " + task.get().index() + " of job '" + ctx.pathParam("id") + "' has no image yet (it is "
                    + task.get().state() + ")");
            return;
        }
        redirect(ctx, controlnet < 0 ? task.get().outputKey() : ObjectKeys.controlMap(task.get().outputKey(), controlnet));
    }

    /** A redirect to a presigned URL of the object. */
    private void redirect(RoutingContext ctx, String key) {
        vertx.executeBlocking(() -> store.presignedGet(key, URL_TTL).toString(), false).onComplete(ar -> {
            if (ar.succeeded()) {
                ctx.response().setStatusCode(302).putHeader("location", ar.result()).putHeader("cache-control", "private, max-age=600").end();
            } else {
                Responses.error(ctx, 503, "storage unavailable, try again: " + ar.cause().getMessage());
            }
        });
    }

    /**
     * Step one of an upload: the client names the file by sha256 and size; the answer is its key
     * and, unless the store has it already, a presigned PUT URL to send the bytes to.
     */
    private void upload(RoutingContext ctx) {
        UploadRequest req;
        try {
            req = Json.mapper().readValue(ctx.body().asString(), UploadRequest.class);
        } catch (Exception e) {
            Responses.error(ctx, 400, "invalid upload request: send {\"sha256\": \"<64 hex>\", \"size_bytes\": N}",
                    List.of(new FieldError("body", String.valueOf(e.getMessage()).split("\n")[0])));
            return;
        }
        List<FieldError> errors = new ArrayList<>();
        if (req == null || !Sha256.isValid(req.sha256())) {
            errors.add(new FieldError("sha256", "must be the file's sha256 as 64 lowercase hex digits"));
        }
        if (req == null || req.sizeBytes() == null || req.sizeBytes() <= 0 || req.sizeBytes() > maxUploadBytes) {
            errors.add(new FieldError("size_bytes", "must be between 1 and " + maxUploadBytes
                    + " bytes (coordinator.max-upload-bytes)"));
        }
        if (!errors.isEmpty()) {
            Responses.error(ctx, 400, "invalid upload request", errors);
            return;
        }
        String key = ObjectKeys.upload(Authenticator.principal(ctx).tenant(), req.sha256());
        vertx.executeBlocking(() -> {
            Optional<ObjectInfo> existing = store.stat(key);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("key", key);
            boolean present = existing.isPresent() && existing.get().sizeBytes() == req.sizeBytes();
            out.put("exists", present);
            if (!present) {
                out.put("upload_url", store.presignedPut(key, URL_TTL).toString());
            }
            return out;
        }, false).onComplete(ar -> {
            if (ar.succeeded()) {
                Responses.json(ctx, 200, ar.result());
            } else {
                Responses.error(ctx, 503, "storage unavailable, try again: " + ar.cause().getMessage());
            }
        });
    }
}
