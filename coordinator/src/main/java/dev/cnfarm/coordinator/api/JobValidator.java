package dev.cnfarm.coordinator.api;

import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.ObjectRef;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Checks a job request field by field, collects every problem (so the user fixes them in one go),
 * applies defaults, and produces the {@link JobSpec} that is recorded. Control images must already
 * be in the tenant's upload area of the bucket.
 */
public final class JobValidator {
    public static final Set<String> SCHEDULERS = Set.of("ddim", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "unipc");
    public static final int DEFAULT_STEPS = 20;
    public static final int DEFAULT_SIDE = 512;
    public static final float DEFAULT_GUIDANCE = 7.5f;
    public static final String DEFAULT_SCHEDULER = "euler";
    public static final String DEFAULT_MODEL = "skeleton";
    private static final Pattern MODEL_ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

    private final JobLimits limits;
    private final Function<String, Optional<ObjectInfo>> objects;

    /**
     * @param objects looks an object key up in the bucket (empty when it does not exist)
     */
    public JobValidator(JobLimits limits, Function<String, Optional<ObjectInfo>> objects) {
        this.limits = limits;
        this.objects = objects;
    }

    public JobSpec validate(JobRequest r, String tenant) {
        return validate(r, tenant, false).spec();
    }

    /**
     * The result of validating a request.
     *
     * @param missingImages control image keys not in the bucket yet; empty unless validated as a quote
     */
    public record Validated(JobSpec spec, List<String> missingImages) {}

    /**
     * @param quoteOnly for a dry run: control images not uploaded yet are listed, not refused, since
     *                  a quote is asked for before anything is uploaded
     */
    public Validated validate(JobRequest r, String tenant, boolean quoteOnly) {
        List<FieldError> errors = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        JobSpec.Builder spec = JobSpec.newBuilder();

        if (r.name() != null) {
            if (r.name().length() > 200) {
                errors.add(new FieldError("name", "must be at most 200 characters, has " + r.name().length()));
            }
            spec.setName(r.name());
        }

        if (r.prompts() == null || r.prompts().isEmpty()) {
            errors.add(new FieldError("prompts", "is required: give at least one prompt, e.g. \"prompts\": [\"a red house\"]"));
        } else if (r.prompts().size() > limits.maxPrompts()) {
            errors.add(new FieldError("prompts", "has " + r.prompts().size() + " entries; at most " + limits.maxPrompts() + " are allowed"));
        } else {
            for (int i = 0; i < r.prompts().size(); i++) {
                String p = r.prompts().get(i);
                if (p == null || p.isBlank()) {
                    errors.add(new FieldError("prompts[" + i + "]", "must not be empty"));
                } else if (p.length() > limits.maxPromptChars()) {
                    errors.add(new FieldError("prompts[" + i + "]", "must be at most " + limits.maxPromptChars() + " characters, has " + p.length()));
                } else {
                    spec.addPrompts(p);
                }
            }
        }

        if (r.negativePrompt() != null) {
            if (r.negativePrompt().length() > limits.maxPromptChars()) {
                errors.add(new FieldError("negative_prompt", "must be at most " + limits.maxPromptChars() + " characters"));
            }
            spec.setNegativePrompt(r.negativePrompt());
        }

        int controls = validateControlImages(r.controlImages(), tenant, spec, errors, quoteOnly ? missing : null);

        List<Long> seeds = r.seeds();
        if (seeds == null) {
            // no seed given: draw one now and record it, so the job stays reproducible
            seeds = List.of(ThreadLocalRandom.current().nextLong(0, 1L << 32));
        }
        if (seeds.isEmpty()) {
            errors.add(new FieldError("seeds", "must not be empty; leave it out for one random seed"));
        } else if (seeds.size() > limits.maxSeeds()) {
            errors.add(new FieldError("seeds", "has " + seeds.size() + " entries; at most " + limits.maxSeeds() + " are allowed"));
        } else {
            for (int i = 0; i < seeds.size(); i++) {
                Long s = seeds.get(i);
                if (s == null || s < 0) {
                    errors.add(new FieldError("seeds[" + i + "]", "must be a whole number from 0 to 2^63-1"));
                } else {
                    spec.addSeeds(s);
                }
            }
        }

        spec.setSteps(range(errors, "steps", r.steps(), DEFAULT_STEPS, 1, limits.maxSteps()));
        spec.setWidth(side(errors, "width", r.width()));
        spec.setHeight(side(errors, "height", r.height()));
        spec.setGuidanceScale(range(errors, "guidance_scale", r.guidanceScale(), DEFAULT_GUIDANCE, 0f, 30f));
        spec.setControlScale(range(errors, "control_scale", r.controlScale(), 1f, 0f, 2f));
        spec.setPriority(range(errors, "priority", r.priority(), 0, -100, 100));

        String scheduler = r.scheduler() == null ? DEFAULT_SCHEDULER : r.scheduler();
        if (!SCHEDULERS.contains(scheduler)) {
            errors.add(new FieldError("scheduler", "unknown scheduler '" + scheduler + "'; use one of " + new java.util.TreeSet<>(SCHEDULERS)));
        }
        spec.setScheduler(scheduler);

        String model = r.model() == null ? DEFAULT_MODEL : r.model();
        if (!MODEL_ID.matcher(model).matches()) {
            errors.add(new FieldError("model", "'" + model + "' is not a model id (lowercase letters, digits, '.', '_', '-')"));
        }
        spec.setModel(model);

        // the size of the matrix is checked before anything is expanded
        long tasks = (long) spec.getPromptsCount() * controls * spec.getSeedsCount();
        if (errors.isEmpty() && tasks > limits.maxTasks()) {
            errors.add(new FieldError("prompts", "the job would have " + spec.getPromptsCount() + " prompts x " + controls
                    + " control images x " + spec.getSeedsCount() + " seeds = " + tasks + " images; at most "
                    + limits.maxTasks() + " are allowed per job: split it into several jobs"));
        }
        if (!errors.isEmpty()) {
            throw new InvalidJobException(errors);
        }
        return new Validated(spec.build(), List.copyOf(missing));
    }

    /** @param missing where to list absent images instead of refusing them, or null to refuse */
    private int validateControlImages(List<String> keys, String tenant, JobSpec.Builder spec, List<FieldError> errors,
                                      List<String> missing) {
        if (keys == null || keys.isEmpty()) {
            errors.add(new FieldError("control_images", "is required: give at least one control image key, "
                    + "uploaded first with `farm submit` or POST /api/v1/uploads"));
            return 0;
        }
        if (keys.size() > limits.maxControlImages()) {
            errors.add(new FieldError("control_images", "has " + keys.size() + " entries; at most " + limits.maxControlImages() + " are allowed"));
            return 0;
        }
        String prefix = ObjectKeys.uploadPrefix(tenant);
        for (int i = 0; i < keys.size(); i++) {
            String key = keys.get(i);
            String field = "control_images[" + i + "]";
            if (key == null || key.isBlank()) {
                errors.add(new FieldError(field, "must not be empty"));
            } else if (!key.startsWith(prefix) || key.contains("..") || key.substring(prefix.length()).contains("/")) {
                errors.add(new FieldError(field, "'" + key + "' is not an upload of this tenant; keys look like " + prefix + "<sha256>"));
            } else {
                Optional<ObjectInfo> info = objects.apply(key);
                if (info.isEmpty() && missing != null) {
                    missing.add(key);
                    spec.addControlImages(ObjectRef.newBuilder().setKey(key).setSha256(key.substring(prefix.length())));
                } else if (info.isEmpty()) {
                    errors.add(new FieldError(field, "image '" + key + "' not found; upload it first (farm submit does this for local files)"));
                } else {
                    // the key of an upload is its content's sha256
                    String sha = key.substring(prefix.length());
                    spec.addControlImages(ObjectRef.newBuilder().setKey(key).setSha256(sha).setSizeBytes(info.get().sizeBytes()));
                }
            }
        }
        return keys.size();
    }

    private int side(List<FieldError> errors, String field, Integer value) {
        int v = range(errors, field, value, DEFAULT_SIDE, limits.minSide(), limits.maxSide());
        if (value != null && v % 8 != 0) {
            errors.add(new FieldError(field, "must be a multiple of 8 (the latent is 1/8 of the image), got " + v));
        }
        return v;
    }

    private static int range(List<FieldError> errors, String field, Integer value, int def, int min, int max) {
        int v = value == null ? def : value;
        if (v < min || v > max) {
            errors.add(new FieldError(field, "must be between " + min + " and " + max + ", got " + v));
        }
        return v;
    }

    private static float range(List<FieldError> errors, String field, Float value, float def, float min, float max) {
        float v = value == null ? def : value;
        if (!(v >= min && v <= max)) {
            errors.add(new FieldError(field, "must be between " + min + " and " + max + ", got " + v));
        }
        return v;
    }
}
