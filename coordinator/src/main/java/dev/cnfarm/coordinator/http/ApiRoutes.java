package dev.cnfarm.coordinator.http;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.common.storage.StorageUnavailableException;
import dev.cnfarm.coordinator.api.FieldError;
import dev.cnfarm.coordinator.api.InvalidJobException;
import dev.cnfarm.coordinator.jobs.IdempotencyConflictException;
import dev.cnfarm.coordinator.jobs.JobActions;
import dev.cnfarm.coordinator.jobs.JobNotStoredException;
import dev.cnfarm.coordinator.jobs.JobSubmitter;
import dev.cnfarm.coordinator.jobs.SubmitResult;
import dev.cnfarm.coordinator.state.JobView;
import dev.cnfarm.coordinator.state.TaskSnapshot;
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
 * The REST API, version 1. Handlers that touch Kafka or S3 run off the event loop. Until
 * authentication arrives every request acts for the tenant {@link #TENANT}.
 */
public final class ApiRoutes {
    public static final String TENANT = "default";
    /** Largest accepted request body: room for a job with ten thousand long prompts. */
    static final long MAX_BODY_BYTES = 32L * 1024 * 1024;
    /** Largest control image accepted for upload. */
    static final long MAX_UPLOAD_BYTES = 50L * 1024 * 1024;
    static final Duration URL_TTL = Duration.ofHours(1);
    private static final Logger LOG = LoggerFactory.getLogger(ApiRoutes.class);

    private final Vertx vertx;
    private final JobSubmitter submitter;
    private final JobView view;
    private final WorkerView workers;
    private final ObjectStore store;
    private final JobActions actions;
    private final java.util.function.BooleanSupplier ready;

    public ApiRoutes(Vertx vertx, JobSubmitter submitter, JobActions actions, JobView view, WorkerView workers, ObjectStore store,
                     java.util.function.BooleanSupplier ready) {
        this.vertx = vertx;
        this.submitter = submitter;
        this.view = view;
        this.workers = workers;
        this.store = store;
        this.actions = actions;
        this.ready = ready;
    }

    public void mount(Router router) {
        router.post("/api/v1/*").handler(BodyHandler.create().setBodyLimit(MAX_BODY_BYTES));
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
        router.post("/api/v1/jobs/:id/cancel").handler(ctx -> act(ctx, id -> actions.cancel(TENANT, id)));
        router.post("/api/v1/jobs/:id/suspend").handler(ctx -> act(ctx, id -> actions.suspend(TENANT, id)));
        router.post("/api/v1/jobs/:id/resume").handler(ctx -> act(ctx, id -> actions.resume(TENANT, id)));
        router.put("/api/v1/jobs/:id/priority").handler(BodyHandler.create().setBodyLimit(4096)).handler(this::priority);
        router.post("/api/v1/uploads").handler(this::upload);
        router.get("/api/v1/workers").handler(ctx -> Responses.json(ctx, 200, Map.of("workers", workers.list())));
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
        vertx.executeBlocking(() -> submitter.submit(TENANT, body, key, dryRun), false).onComplete(ar -> {
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

    /** Runs an action on a job off the event loop and answers 202 with the job as it stands. */
    private void act(RoutingContext ctx, java.util.function.Consumer<String> action) {
        String id = ctx.pathParam("id");
        vertx.executeBlocking(() -> {
            action.accept(id);
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
        act(ctx, id -> actions.setPriority(TENANT, id, priority));
    }

    private void list(RoutingContext ctx) {
        Responses.json(ctx, 200, Map.of("jobs", view.list(TENANT)));
    }

    private void get(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        view.snapshot(id).filter(s -> s.job().tenant().equals(TENANT)).ifPresentOrElse(
                s -> Responses.json(ctx, 200, s),
                () -> Responses.error(ctx, 404, "job '" + id + "' not found"));
    }

    private void outputs(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        if (view.summary(id).filter(s -> s.tenant().equals(TENANT)).isEmpty()) {
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
    private void redirectToObject(RoutingContext ctx, int controlnet) {
        String id = ctx.pathParam("id");
        int index;
        try {
            index = Integer.parseInt(ctx.pathParam("index"));
        } catch (NumberFormatException e) {
            Responses.error(ctx, 400, "task index must be a whole number", List.of(new FieldError("index", "must be a whole number")));
            return;
        }
        if (view.summary(id).filter(s -> s.tenant().equals(TENANT)).isEmpty()) {
            Responses.error(ctx, 404, "job '" + id + "' not found");
            return;
        }
        Optional<TaskSnapshot> task = view.task(id, index);
        if (task.isEmpty()) {
            Responses.error(ctx, 404, "job '" + id + "' has no task " + index);
            return;
        }
        if (!task.get().state().equals("succeeded")) {
            Responses.error(ctx, 404, "task " + index + " of job '" + id + "' has no image yet (it is " + task.get().state() + ")");
            return;
        }
        String key = controlnet < 0 ? task.get().outputKey() : ObjectKeys.controlMap(task.get().outputKey(), controlnet);
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
        if (req == null || req.sizeBytes() == null || req.sizeBytes() <= 0 || req.sizeBytes() > MAX_UPLOAD_BYTES) {
            errors.add(new FieldError("size_bytes", "must be between 1 and " + MAX_UPLOAD_BYTES + " bytes"));
        }
        if (!errors.isEmpty()) {
            Responses.error(ctx, 400, "invalid upload request", errors);
            return;
        }
        String key = ObjectKeys.upload(TENANT, req.sha256());
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
