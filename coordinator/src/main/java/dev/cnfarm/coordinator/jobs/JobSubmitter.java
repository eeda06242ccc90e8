package dev.cnfarm.coordinator.jobs;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.coordinator.api.JobRequest;
import dev.cnfarm.coordinator.api.JobRequestParser;
import dev.cnfarm.coordinator.api.JobValidator;
import dev.cnfarm.coordinator.state.JobView;
import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.JobState;
import dev.cnfarm.proto.v1.SchemaVersion;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.UUID;

/**
 * Takes a job from request body to Kafka: parse, validate, check the idempotency key, and send it
 * to the scheduler, which releases its tasks as workers have room. Blocking; called off the event loop.
 *
 * <p>A job submitted with an idempotency key gets an id derived from tenant and key, so the same
 * key submitted twice names the same job even through two coordinators: the scheduler keeps the
 * first submission and ignores the second. Since two coordinators cannot see each other's
 * submissions in time, a keyed submit is answered only once the scheduler's record of the job is
 * back on the jobs topic: a body other than the recorded one then gets 409, whichever coordinator
 * it came through, and no client is told that a job it did not make is its own.
 */
public final class JobSubmitter {
    private final JobValidator validator;
    private final CommandPublisher publisher;
    private final JobView view;
    private final ModelsServed served;
    /**
     * One submit per idempotency key at a time on this coordinator: a fixed set of locks picked by
     * the key's hash, so memory stays bounded however many keys come (a map of one lock per key
     * grew with every keyed submit); two keys sharing a lock only take turns.
     */
    private final Object[] keyLocks = java.util.stream.Stream.generate(Object::new).limit(64).toArray();
    private final java.time.Duration confirmTimeout;

    /**
     * The models the live workers of a pool serve, from their heartbeats, each with the largest
     * image (width x height) one of them renders (0: not said, no limit known); empty when no worker
     * of the pool is live (a job for it then waits, queued, until one starts).
     */
    @FunctionalInterface
    public interface ModelsServed {
        java.util.Optional<java.util.Map<String, Long>> in(String pool);

        ModelsServed UNKNOWN = pool -> java.util.Optional.empty();
    }

    public JobSubmitter(JobValidator validator, CommandPublisher publisher, JobView view) {
        this(validator, publisher, view, ModelsServed.UNKNOWN);
    }

    public JobSubmitter(JobValidator validator, CommandPublisher publisher, JobView view, ModelsServed served) {
        this(validator, publisher, view, served, java.time.Duration.ofSeconds(15));
    }

    /** @param confirmTimeout how long a keyed submit waits for the scheduler's record of its job */
    public JobSubmitter(JobValidator validator, CommandPublisher publisher, JobView view, ModelsServed served,
                        java.time.Duration confirmTimeout) {
        this.validator = validator;
        this.publisher = publisher;
        this.view = view;
        this.served = served;
        this.confirmTimeout = confirmTimeout;
    }

    /**
     * A job for a model no live worker of its pool serves, or larger than any of them renders,
     * would fail on every attempt: it is refused at once, naming what the workers serve and how
     * large they render. With no live worker in the pool the job is taken and waits for one.
     */
    private void requireServed(JobSpec spec) {
        String pool = spec.getPool().isEmpty() ? dev.cnfarm.common.kafka.Topics.DEFAULT_POOL : spec.getPool();
        served.in(pool).ifPresent(models -> {
            if (!models.containsKey(spec.getModel())) {
                throw new dev.cnfarm.coordinator.api.InvalidJobException(java.util.List.of(new dev.cnfarm.coordinator.api.FieldError("model",
                        "no live worker of pool '" + pool + "' serves model '" + spec.getModel() + "'; they serve "
                                + new java.util.TreeSet<>(models.keySet()) + " (a worker serves more with --set worker.models=FOLDER)")));
            }
            long largest = models.get(spec.getModel());
            long pixels = (long) spec.getWidth() * spec.getHeight();
            if (largest > 0 && pixels > largest) {
                int side = (int) Math.sqrt((double) largest) / 8 * 8;
                throw new dev.cnfarm.coordinator.api.InvalidJobException(java.util.List.of(new dev.cnfarm.coordinator.api.FieldError("width",
                        spec.getWidth() + "x" + spec.getHeight() + " is " + pixels + " pixels; the live workers of pool '" + pool
                                + "' that serve model '" + spec.getModel() + "' render at most " + largest + " (about " + side + "x" + side
                                + "); render smaller, or start a worker with more memory and a larger worker.max-pixels")));
            }
        });
    }

    /**
     * @param idempotencyKey the client's key, or null; the same key with the same body returns the
     *                       first job instead of making another
     * @param dryRun         validate and quote only; nothing is recorded
     */
    public SubmitResult submit(String tenant, String body, String idempotencyKey, boolean dryRun) {
        JobRequest request = JobRequestParser.parse(body);
        String requestSha = canonicalSha(request);
        if (idempotencyKey != null && !dryRun) {
            // one submit per key at a time here, so two racing retries through this coordinator cannot both send a job
            Object lock = keyLocks[Math.floorMod(jobIdFor(tenant, idempotencyKey).hashCode(), keyLocks.length)];
            synchronized (lock) {
                var existing = view.record(jobIdFor(tenant, idempotencyKey));
                if (existing.isPresent()) {
                    return repeat(existing.get(), requestSha, idempotencyKey);
                }
                SubmitResult sent = create(tenant, request, idempotencyKey, requestSha, false);
                return confirmed(sent, requestSha, idempotencyKey);
            }
        }
        return create(tenant, request, idempotencyKey, requestSha, dryRun);
    }

    /**
     * Waits for the scheduler's record of a keyed job: another coordinator may have sent the same
     * key a moment earlier, and the scheduler keeps the first. Ours stands when the record is the
     * one this request sent; the same body from elsewhere is a repeat; another body is a conflict.
     */
    private SubmitResult confirmed(SubmitResult sent, String requestSha, String key) {
        long deadline = System.nanoTime() + confirmTimeout.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<JobRecord> recorded = view.record(sent.jobId()); // keyed jobs enter the view only from the jobs topic
            if (recorded.isPresent()) {
                JobRecord r = recorded.get();
                if (r.getRequestSha256().equals(requestSha) && r.getSubmittedAtMs() == sent.submittedAtMs()) {
                    return sent;
                }
                return repeat(r, requestSha, key);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        throw new JobNotStoredException("job " + sent.jobId() + " was sent to the scheduler but its record did not come back within "
                + confirmTimeout.toSeconds() + " s; send the same request with the same Idempotency-Key to learn whether it was made", null);
    }

    private SubmitResult repeat(JobRecord job, String requestSha, String key) {
        if (!job.getRequestSha256().equals(requestSha)) {
            throw new IdempotencyConflictException("Idempotency-Key '" + key + "' was already used for job " + job.getJobId()
                    + " with a different body; use a new key for a different job");
        }
        return new SubmitResult(job.getJobId(), false, job.getTaskCount(), estimate(job.getSpec()), 0,
                JobExpander.textToImage(job.getSpec())).withEstimatesByDevice(byDevice(job.getSpec())).withStages(stages(job.getSpec()));
    }

    /** The job's render time on one worker: each stage's tasks at their own size and steps. */
    private double estimate(JobSpec spec) {
        return JobExpander.stages(spec).stream().mapToDouble(s -> stageSeconds(spec, s)).sum();
    }

    private double stageSeconds(JobSpec spec, JobExpander.Stage s) {
        return s.steps() == 0 ? 0 : view.estimateSeconds(spec.getModel(), s.tasks(), s.steps(), s.width(), s.height());
    }

    /** Each stage's quote, for a staged job (hires, tiled upscale); empty for one stage. */
    private java.util.List<SubmitResult.StageQuote> stages(JobSpec spec) {
        java.util.List<JobExpander.Stage> stages = JobExpander.stages(spec);
        if (stages.size() < 2) {
            return java.util.List.of();
        }
        return stages.stream().map(s -> new SubmitResult.StageQuote(s.name(), s.tasks(), stageSeconds(spec, s))).toList();
    }

    private java.util.Map<String, Double> byDevice(JobSpec spec) {
        java.util.Map<String, Double> out = new java.util.LinkedHashMap<>();
        for (JobExpander.Stage s : JobExpander.stages(spec)) {
            if (s.steps() > 0) {
                view.estimateSecondsByDevice(spec.getModel(), s.tasks(), s.steps(), s.width(), s.height()).forEach((d, v) -> out.merge(d, v, Double::sum));
            }
        }
        return out;
    }

    private SubmitResult create(String tenant, JobRequest request, String idempotencyKey, String requestSha, boolean dryRun) {
        JobValidator.Validated validated = validator.validate(request, tenant, dryRun);
        JobSpec spec = validated.spec();
        requireServed(spec);
        long count = JobExpander.taskCount(spec);
        double estimate = estimate(spec);
        if (dryRun) {
            return new SubmitResult("", false, count, estimate, validated.missingImages().size(), JobExpander.textToImage(spec))
                    .withEstimatesByDevice(byDevice(spec)).withStages(stages(spec));
        }
        String jobId = idempotencyKey == null ? "job-" + UUID.randomUUID().toString().replace("-", "").substring(0, 20)
                : jobIdFor(tenant, idempotencyKey);
        long now = System.currentTimeMillis();
        JobRecord record = JobRecord.newBuilder()
                .setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE)
                .setJobId(jobId)
                .setTenant(tenant)
                .setSpec(spec)
                .setState(JobState.JOB_STATE_SUBMITTED)
                .setTaskCount((int) count)
                .setSubmittedAtMs(now)
                .setUpdatedAtMs(now)
                .setIdempotencyKey(idempotencyKey == null ? "" : idempotencyKey)
                .setRequestSha256(requestSha)
                .build();
        publisher.submit(record);
        if (idempotencyKey == null) {
            // read-your-writes: the job is visible at once, before the state feed reads it back
            // (a keyed job waits for the scheduler's record instead: see confirmed)
            view.applyJob(record);
        }
        return new SubmitResult(jobId, true, count, estimate, 0, JobExpander.textToImage(spec), now, byDevice(spec)).withStages(stages(spec));
    }

    /** The id of the job an idempotency key names: the same for every coordinator. */
    static String jobIdFor(String tenant, String idempotencyKey) {
        return "job-" + Sha256.of((tenant + "\u0000" + idempotencyKey).getBytes(StandardCharsets.UTF_8)).substring(0, 20);
    }

    /** sha256 of the request re-serialized, so whitespace and field order do not matter. */
    private static String canonicalSha(JobRequest request) {
        try {
            return Sha256.of(Json.mapper().writeValueAsString(request).getBytes(StandardCharsets.UTF_8));
        } catch (Exception e) {
            throw new IllegalStateException("cannot serialize a parsed request", e);
        }
    }
}
