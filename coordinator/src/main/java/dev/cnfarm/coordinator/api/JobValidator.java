package dev.cnfarm.coordinator.api;

import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.preprocess.PreprocessorCatalog;
import dev.cnfarm.proto.v1.ControlNetInput;
import dev.cnfarm.proto.v1.JobRow;
import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.LoraRef;
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
    /** Noise generators a job may choose (worker.engine.noise.NoiseKind). */
    public static final Set<String> NOISE_GENERATORS = Set.of("farm", "torch_cpu", "cuda_philox");
    public static final Set<String> SCHEDULERS = Set.of("ddim", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "unipc");
    public static final int DEFAULT_STEPS = 20;
    public static final int DEFAULT_SIDE = 512;
    public static final float DEFAULT_GUIDANCE = 7.5f;
    public static final String DEFAULT_SCHEDULER = "euler";
    public static final String DEFAULT_MODEL = "tiny";
    public static final java.util.Set<String> CONTROL_MODES = java.util.Set.of("balanced", "prompt", "control");
    /** ControlNets a job may use in all: the first, from the matrix, and at most this many minus one more. */
    public static final int MAX_CONTROLNETS = 4;
    /** The most images a job may let share one model batch (a worker's own limit applies too). */
    public static final int MAX_BATCH_SIZE = 16;
    public static final int DEFAULT_MASK_BLUR = 4;
    public static final float MAX_HIRES_SCALE = 4f;
    public static final float MAX_UPSCALE = 8f;
    /** The largest side a tiled upscale blends: what a worker holds as one image while blending. */
    public static final int MAX_UPSCALED_SIDE = 4096;
    public static final int MAX_MASK_BLUR = 64;
    /** LoRA files a job may merge; each set is its own sessions on a worker. */
    public static final int MAX_LORAS = 8;
    /** Weights outside this range make noise, not images, in every tool. */
    public static final float MAX_LORA_WEIGHT = 4f;
    private static final Pattern LORA_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_. -]{0,99}");
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
        if (r.trainControlnet() != null) {
            return validateTraining(r, tenant, quoteOnly);
        }
        List<FieldError> errors = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        JobSpec.Builder spec = JobSpec.newBuilder();

        if (r.name() != null) {
            if (r.name().length() > 200) {
                errors.add(new FieldError("name", "must be at most 200 characters, has " + r.name().length()));
            }
            spec.setName(r.name());
        }

        if (r.negativePrompt() != null) {
            if (r.negativePrompt().length() > limits.maxPromptChars()) {
                errors.add(new FieldError("negative_prompt", "must be at most " + limits.maxPromptChars() + " characters"));
            }
            spec.setNegativePrompt(r.negativePrompt());
        }

        if (r.rows() != null) {
            validateRows(r, tenant, spec, errors, quoteOnly ? missing : null);
        } else {
            validateMatrix(r, tenant, spec, errors, quoteOnly ? missing : null);
        }

        spec.setSteps(range(errors, "steps", r.steps(), DEFAULT_STEPS, 1, limits.maxSteps()));
        spec.setWidth(side(errors, "width", r.width()));
        spec.setHeight(side(errors, "height", r.height()));
        spec.setGuidanceScale(range(errors, "guidance_scale", r.guidanceScale(), DEFAULT_GUIDANCE, 0f, 30f));
        spec.setControlScale(range(errors, "control_scale", r.controlScale(), 1f, 0f, 2f));
        spec.setControlStart(range(errors, "control_start", r.controlStart(), 0f, 0f, 1f));
        spec.setControlEnd(range(errors, "control_end", r.controlEnd(), 1f, 0f, 1f));
        if (spec.getControlStart() >= spec.getControlEnd()) {
            errors.add(new FieldError("control_start", "must be below control_end (" + spec.getControlEnd() + "), got " + spec.getControlStart()));
        }
        spec.setControlMode(controlMode(errors, "control_mode", r.controlMode()));
        spec.setGuessMode(r.guessMode() != null && r.guessMode());
        spec.setEta(range(errors, "eta", r.eta(), 0f, 0f, 1f));
        Preprocessing pre = preprocessing(errors, "", r.preprocessor(), r.preprocessorParams(), r.resizeMode());
        spec.setPreprocessor(pre.name()).putAllPreprocessorParams(pre.params()).setResizeMode(pre.resizeMode());
        spec.setControlnet(controlnetName(errors, "controlnet", r.controlnet()));
        if (r.additionalControlnets() != null && !r.additionalControlnets().isEmpty() && r.rows() == null
                && (r.controlImages() == null || r.controlImages().isEmpty())) {
            errors.add(new FieldError("additional_controlnets", "needs control_images: the first ControlNet's images come from "
                    + "control_images (a job without control images renders text to image)"));
        }
        validateAdditional(r.additionalControlnets(), tenant, spec, errors, quoteOnly ? missing : null);
        spec.setPriority(range(errors, "priority", r.priority(), 0, -100, 100));
        if (r.batchSize() != null && (r.batchSize() < 1 || r.batchSize() > MAX_BATCH_SIZE)) {
            errors.add(new FieldError("batch_size", "must be between 1 and " + MAX_BATCH_SIZE + ", got " + r.batchSize()
                    + " (how many of the job's images a worker may compute in one batch; leave it out for the worker's own limit)"));
        }
        spec.setBatchSize(r.batchSize() == null ? 0 : r.batchSize()); // 0: the worker's own limit (worker.max-batch)

        String scheduler = r.scheduler() == null ? DEFAULT_SCHEDULER : r.scheduler();
        if (!SCHEDULERS.contains(scheduler)) {
            errors.add(new FieldError("scheduler", "unknown scheduler '" + scheduler + "'; use one of " + new java.util.TreeSet<>(SCHEDULERS)));
        }
        spec.setScheduler(scheduler);
        String noise = r.noise() == null ? "farm" : r.noise();
        if (!NOISE_GENERATORS.contains(noise)) {
            errors.add(new FieldError("noise", "unknown noise generator '" + noise + "'; use farm (the default: java.util.Random, the same "
                    + "on every JVM) or torch_cpu (PyTorch's CPU generator: the noise diffusers with a CPU generator and ComfyUI make "
                    + "for a seed) or cuda_philox (PyTorch's CUDA generator, computed on the CPU: the noise A1111 and diffusers on a GPU "
                    + "make)"));
        }
        spec.setNoise(noise);
        validateLoras(r.loras(), tenant, spec, errors, quoteOnly ? missing : null);

        String model = r.model() == null ? DEFAULT_MODEL : r.model();
        if (!MODEL_ID.matcher(model).matches()) {
            errors.add(new FieldError("model", "'" + model + "' is not a model id (lowercase letters, digits, '.', '_', '-')"));
        }
        spec.setModel(model);

        if (r.webhookUrl() != null) {
            String url = r.webhookUrl();
            java.net.URI uri = null;
            try {
                uri = new java.net.URI(url);
            } catch (java.net.URISyntaxException e) {
                // reported below
            }
            if (url.length() > 2000 || uri == null || uri.getHost() == null
                    || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
                errors.add(new FieldError("webhook_url", "must be an http:// or https:// URL with a host, at most 2000 characters"));
            } else {
                spec.setWebhookUrl(url);
            }
        }

        validateHires(r.hires(), spec, errors);
        validateUpscale(r.upscale(), spec, errors);
        if (r.hires() != null && r.upscale() != null) {
            errors.add(new FieldError("upscale", "cannot be combined with hires in one job: give one of the two"));
        }

        if (r.pool() != null) {
            if (!Topics.POOL_NAME.matcher(r.pool()).matches()) {
                errors.add(new FieldError("pool", "'" + r.pool() + "' is not a pool name (1 to 40 lowercase letters, digits or '-', "
                        + "starting with a letter or digit; the workers' worker.pool setting)"));
            } else if (!r.pool().equals(Topics.DEFAULT_POOL)) {
                spec.setPool(r.pool());
            }
        }

        if (!errors.isEmpty()) {
            throw new InvalidJobException(errors);
        }
        return new Validated(spec.build(), List.copyOf(missing));
    }

    /** prompts x control_images x seeds; the task count is checked against the limit before anything is expanded. */
    private void validateMatrix(JobRequest r, String tenant, JobSpec.Builder spec, List<FieldError> errors, List<String> missing) {
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

        int controls = validateControlImages(r.controlImages(), tenant, spec, errors, missing);
        int inits = validateInitImages(r, tenant, spec, errors, missing);
        if (spec.getControlImagesCount() == 0 && inits > 0) {
            controls = inits; // img2img without ControlNet: the init images are the matrix's images
        }

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

        long tasks = (long) spec.getPromptsCount() * controls * spec.getSeedsCount();
        if (errors.isEmpty() && tasks > limits.maxTasks()) {
            errors.add(new FieldError("prompts", "the job would have " + spec.getPromptsCount() + " prompts x " + controls
                    + " images x " + spec.getSeedsCount() + " seeds = " + tasks + " images; at most "
                    + limits.maxTasks() + " are allowed per job: split it into several jobs"));
        }
    }

    /** One row per image (a manifest); the matrix fields must be absent. */
    private void validateRows(JobRequest r, String tenant, JobSpec.Builder spec, List<FieldError> errors, List<String> missing) {
        for (String f : List.of("prompts", "control_images", "seeds")) {
            boolean given = switch (f) {
                case "prompts" -> r.prompts() != null;
                case "control_images" -> r.controlImages() != null;
                default -> r.seeds() != null;
            };
            if (given) {
                errors.add(new FieldError(f, "cannot be combined with rows: a job is either a matrix (prompts x control_images x seeds) "
                        + "or rows, one per image"));
            }
        }
        List<JobRequest.RowRequest> rows = r.rows();
        if (rows.isEmpty()) {
            errors.add(new FieldError("rows", "must not be empty: give one row per image, or use prompts, control_images and seeds"));
            return;
        }
        if (rows.size() > limits.maxTasks()) {
            errors.add(new FieldError("rows", "has " + rows.size() + " rows; at most " + limits.maxTasks()
                    + " images are allowed per job: split the manifest into several jobs"));
            return;
        }
        // a manifest often reuses a few control images: look each key up once
        java.util.Map<String, ObjectRef> refs = new java.util.HashMap<>();
        for (int i = 0; i < rows.size(); i++) {
            JobRequest.RowRequest row = rows.get(i);
            String f = "rows[" + i + "]";
            if (row == null) {
                errors.add(new FieldError(f, "must be an object with a prompt and optionally control_image, seed and overrides"));
                continue;
            }
            JobRow.Builder b = JobRow.newBuilder();
            if (row.prompt() == null || row.prompt().isBlank()) {
                errors.add(new FieldError(f + ".prompt", "is required and must not be empty"));
            } else if (row.prompt().length() > limits.maxPromptChars()) {
                errors.add(new FieldError(f + ".prompt", "must be at most " + limits.maxPromptChars() + " characters, has "
                        + row.prompt().length()));
            } else {
                b.setPrompt(row.prompt());
            }
            if (row.negativePrompt() != null) {
                if (row.negativePrompt().length() > limits.maxPromptChars()) {
                    errors.add(new FieldError(f + ".negative_prompt", "must be at most " + limits.maxPromptChars() + " characters"));
                }
                b.setNegativePrompt(row.negativePrompt());
            }
            String key = row.controlImage();
            // a row without a control image renders text to image
            ObjectRef ref = key == null ? null : refs.containsKey(key) ? refs.get(key)
                    : imageRef(key, f + ".control_image", tenant, errors, missing);
            if (ref != null) {
                refs.put(key, ref);
                b.setControlImage(ref);
            }
            String init = row.initImage();
            ObjectRef initRef = init == null ? null : refs.containsKey(init) ? refs.get(init) : imageRef(init, f + ".init_image", tenant, errors, missing);
            if (initRef != null) {
                refs.put(init, initRef);
                b.setInitImage(initRef);
            }
            if (row.maskImage() != null) {
                if (init == null) {
                    errors.add(new FieldError(f + ".mask_image", "needs an init_image: the mask says which part of it is repainted"));
                } else {
                    ObjectRef maskRef = refs.containsKey(row.maskImage()) ? refs.get(row.maskImage())
                            : imageRef(row.maskImage(), f + ".mask_image", tenant, errors, missing);
                    if (maskRef != null) {
                        refs.put(row.maskImage(), maskRef);
                        b.setMaskImage(maskRef);
                    }
                }
            }
            Long seed = row.seed() == null ? ThreadLocalRandom.current().nextLong(0, 1L << 32) : row.seed();
            if (seed < 0) {
                errors.add(new FieldError(f + ".seed", "must be a whole number from 0 to 2^63-1"));
            }
            b.setSeed(seed);
            if (row.steps() != null) {
                b.setSteps(range(errors, f + ".steps", row.steps(), DEFAULT_STEPS, 1, limits.maxSteps()));
            }
            if (row.guidanceScale() != null) {
                b.setGuidanceScale(range(errors, f + ".guidance_scale", row.guidanceScale(), DEFAULT_GUIDANCE, 0f, 30f));
            }
            if (row.controlScale() != null) {
                b.setControlScale(range(errors, f + ".control_scale", row.controlScale(), 1f, 0f, 2f));
            }
            spec.addRows(b);
            if (errors.size() > 100) {
                errors.add(new FieldError("rows", "stopped checking at row " + i + ": more than 100 problems"));
                break;
            }
        }
        validateInitImages(r, tenant, spec, errors, missing); // the job's strength and mask_blur for rows with init images
    }

    /** A checked preprocessor setting: its name, its parameters as given (as strings), the resize mode. */
    private record Preprocessing(String name, java.util.Map<String, String> params, String resizeMode) {}

    public static final java.util.Set<String> RESIZE_MODES = java.util.Set.of("just_resize", "crop_and_resize", "resize_and_fill");

    private static Preprocessing preprocessing(List<FieldError> errors, String prefix, String name, java.util.Map<String, Object> params,
                                               String resizeMode) {
        String n = name == null ? PreprocessorCatalog.PASSTHROUGH : name;
        java.util.Map<String, String> given = new java.util.TreeMap<>();
        if (params != null) {
            params.forEach((k, v) -> given.put(k, v == null ? "" : String.valueOf(v)));
        }
        if (!PreprocessorCatalog.has(n)) {
            errors.add(new FieldError(prefix + "preprocessor", "unknown preprocessor '" + n + "'; use one of " + PreprocessorCatalog.names()));
        } else {
            try {
                PreprocessorCatalog.resolve(n, given);
            } catch (IllegalArgumentException e) {
                errors.add(new FieldError(prefix + "preprocessor_params", e.getMessage()));
            }
        }
        String mode = resizeMode == null ? "crop_and_resize" : resizeMode;
        if (!RESIZE_MODES.contains(mode)) {
            errors.add(new FieldError(prefix + "resize_mode", "'" + mode + "' is not a resize mode; use just_resize, crop_and_resize or resize_and_fill"));
        }
        return new Preprocessing(n, given, mode);
    }

    private static String controlMode(List<FieldError> errors, String field, String mode) {
        String m = mode == null ? "balanced" : mode;
        if (!CONTROL_MODES.contains(m)) {
            errors.add(new FieldError(field, "'" + m + "' is not a control mode; use balanced, prompt or control"));
        }
        return m;
    }

    private void validateAdditional(List<JobRequest.ControlNetRequest> extra, String tenant, JobSpec.Builder spec,
                                    List<FieldError> errors, List<String> missing) {
        if (extra == null) {
            return;
        }
        if (extra.size() > MAX_CONTROLNETS - 1) {
            errors.add(new FieldError("additional_controlnets", "has " + extra.size() + " entries; at most " + (MAX_CONTROLNETS - 1)
                    + " are allowed (" + MAX_CONTROLNETS + " ControlNets in all)"));
            return;
        }
        for (int i = 0; i < extra.size(); i++) {
            JobRequest.ControlNetRequest c = extra.get(i);
            String f = "additional_controlnets[" + i + "]";
            if (c == null) {
                errors.add(new FieldError(f, "must be an object with an image"));
                continue;
            }
            ObjectRef image = imageRef(c.image(), f + ".image", tenant, errors, missing);
            float scale = range(errors, f + ".scale", c.scale(), 1f, 0f, 2f);
            float start = range(errors, f + ".start", c.start(), 0f, 0f, 1f);
            float end = range(errors, f + ".end", c.end(), 1f, 0f, 1f);
            if (start >= end) {
                errors.add(new FieldError(f + ".start", "must be below end (" + end + "), got " + start));
            }
            String mode = controlMode(errors, f + ".mode", c.mode());
            Preprocessing pre = preprocessing(errors, f + ".", c.preprocessor(), c.preprocessorParams(), c.resizeMode());
            String name = controlnetName(errors, f + ".controlnet", c.controlnet());
            if (image != null) {
                spec.addAdditionalControlnets(ControlNetInput.newBuilder().setImage(image).setScale(scale).setStart(start).setEnd(end)
                        .setMode(mode).setPreprocessor(pre.name()).putAllPreprocessorParams(pre.params()).setResizeMode(pre.resizeMode())
                        .setControlnet(name));
            }
        }
    }

    /**
     * The name of one of the model's ControlNets ({@code canny}, {@code scribble}), or "" for the one
     * at the input's position. Whether the model has it is the worker's to say (a task naming one it
     * lacks fails at once with the names it has).
     */
    static String controlnetName(List<FieldError> errors, String field, String name) {
        if (name == null || name.isEmpty()) {
            return "";
        }
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")) {
            errors.add(new FieldError(field, "must be a ControlNet's name (letters, digits, '_', '-', '.'; at most 64), such as canny "
                    + "or scribble; got '" + name + "'"));
            return "";
        }
        return name;
    }

    /**
     * The job's LoRA files: each an upload of this tenant, with a name (what the PNG records) and a
     * weight. Whether a file fits the model is the worker's to say (it lists the keys that name no
     * layer of the model, and the task fails at once).
     */
    private void validateLoras(List<JobRequest.LoraRequest> loras, String tenant, JobSpec.Builder spec, List<FieldError> errors,
                               List<String> missing) {
        if (loras == null) {
            return;
        }
        if (loras.size() > MAX_LORAS) {
            errors.add(new FieldError("loras", "has " + loras.size() + " entries; at most " + MAX_LORAS + " are allowed"));
            return;
        }
        java.util.Set<String> names = new java.util.HashSet<>();
        for (int i = 0; i < loras.size(); i++) {
            JobRequest.LoraRequest l = loras.get(i);
            String f = "loras[" + i + "]";
            if (l == null) {
                errors.add(new FieldError(f, "must be an object with name, file and weight"));
                continue;
            }
            if (l.name() == null || !LORA_NAME.matcher(l.name()).matches()) {
                errors.add(new FieldError(f + ".name", "must be a LoRA's name (letters, digits, '_', '-', '.', ' '; 1 to 100, no ':' "
                        + "or '>'), as a prompt's <lora:name:weight> tag names it; got " + (l.name() == null ? "nothing" : "'" + l.name() + "'")));
            } else if (!names.add(l.name())) {
                errors.add(new FieldError(f + ".name", "'" + l.name() + "' is listed twice; give each LoRA once, with its weight"));
            }
            float weight = range(errors, f + ".weight", l.weight(), 1f, -MAX_LORA_WEIGHT, MAX_LORA_WEIGHT);
            ObjectRef file = uploadRef(l.file(), f + ".file", "LoRA file", tenant, errors, missing);
            if (file != null && l.name() != null) {
                spec.addLoras(LoraRef.newBuilder().setName(l.name()).setWeight(weight).setFile(file));
            }
        }
    }

    /** An uploaded image of this tenant, or null (with an error, or listed as missing for a quote). */
    private ObjectRef imageRef(String key, String field, String tenant, List<FieldError> errors, List<String> missing) {
        return uploadRef(key, field, "image", tenant, errors, missing);
    }

    /**
     * An uploaded object of this tenant, or null (with an error, or listed as missing for a quote).
     *
     * @param what how messages name it ("image", "LoRA file")
     */
    private ObjectRef uploadRef(String key, String field, String what, String tenant, List<FieldError> errors,
                                List<String> missing) {
        String prefix = ObjectKeys.uploadPrefix(tenant);
        if (key == null || key.isBlank()) {
            errors.add(new FieldError(field, "must not be empty"));
            return null;
        }
        if (!key.startsWith(prefix) || key.contains("..") || key.substring(prefix.length()).contains("/")) {
            errors.add(new FieldError(field, "'" + key + "' is not an upload of this tenant; keys look like " + prefix + "<sha256>"));
            return null;
        }
        Optional<ObjectInfo> info = objects.apply(key);
        String sha = key.substring(prefix.length());
        if (info.isEmpty()) {
            if (missing != null) {
                missing.add(key);
                return ObjectRef.newBuilder().setKey(key).setSha256(sha).build();
            }
            errors.add(new FieldError(field, what + " '" + key + "' not found; upload it first (farm submit does this for local files)"));
            return null;
        }
        long maxBytes = limits.maxUploadBytes();
        if (info.get().sizeBytes() > maxBytes) {
            // a presigned PUT takes whatever body it is sent, whatever size the upload declared
            errors.add(new FieldError(field, what + " '" + key + "' is " + info.get().sizeBytes() + " bytes, more than the upload limit of "
                    + maxBytes + " bytes (coordinator.max-upload-bytes); upload a smaller " + what));
            return null;
        }
        return ObjectRef.newBuilder().setKey(key).setSha256(sha).setSizeBytes(info.get().sizeBytes()).build();
    }

    /**
     * img2img and inpainting: {@code init_images} (one per control image, or one for all; with no
     * control images, the matrix's images), {@code mask_images} (one per init image, or one for all),
     * {@code strength} and {@code mask_blur}. Whether a mask is the size of its init image is seen
     * when the images are read (the task fails at once, naming the mask).
     *
     * @return the number of init images (0 without)
     */
    private int validateInitImages(JobRequest r, String tenant, JobSpec.Builder spec, List<FieldError> errors, List<String> missing) {
        List<String> inits = r.initImages() == null ? List.of() : r.initImages();
        List<String> masks = r.maskImages() == null ? List.of() : r.maskImages();
        boolean rows = r.rows() != null;
        if (!rows && !inits.isEmpty()) {
            int controls = r.controlImages() == null ? 0 : r.controlImages().size();
            if (inits.size() > limits.maxControlImages()) {
                errors.add(new FieldError("init_images", "has " + inits.size() + " entries; at most " + limits.maxControlImages() + " are allowed"));
                return 0;
            }
            if (controls > 0 && inits.size() != 1 && inits.size() != controls) {
                errors.add(new FieldError("init_images", "has " + inits.size() + " entries for " + controls + " control images: give one "
                        + "init image per control image (paired in order), or one for all"));
            }
            for (int i = 0; i < inits.size(); i++) {
                ObjectRef ref = imageRef(inits.get(i), "init_images[" + i + "]", tenant, errors, missing);
                if (ref != null) {
                    spec.addInitImages(ref);
                }
            }
            if (!masks.isEmpty() && masks.size() != 1 && masks.size() != inits.size()) {
                errors.add(new FieldError("mask_images", "has " + masks.size() + " entries for " + inits.size() + " init images: give one mask "
                        + "per init image (white where it is repainted), or one for all"));
            }
            for (int i = 0; i < masks.size(); i++) {
                ObjectRef ref = imageRef(masks.get(i), "mask_images[" + i + "]", tenant, errors, missing);
                if (ref != null) {
                    spec.addMaskImages(ref);
                }
            }
        } else if (!masks.isEmpty()) {
            errors.add(new FieldError("mask_images", rows ? "cannot be combined with rows: give each row its mask_image"
                    : "needs init_images: a mask says which part of an init image is repainted"));
        } else if (rows && !inits.isEmpty()) {
            errors.add(new FieldError("init_images", "cannot be combined with rows: give each row its init_image"));
        }
        boolean anyInit = !inits.isEmpty() || (rows && r.rows().stream().anyMatch(x -> x != null && x.initImage() != null));
        if (r.strength() != null && !anyInit) {
            errors.add(new FieldError("strength", "needs init_images (or rows with init_image): it is how much of an init image is "
                    + "repainted"));
        }
        // A1111's defaults: 0.75 of the steps from the init image, masks blurred by 4 pixels
        spec.setStrength(range(errors, "strength", r.strength(), anyInit ? 0.75f : 0f, 0f, 1f));
        if (r.maskBlur() != null && (r.maskBlur() < 0 || r.maskBlur() > MAX_MASK_BLUR)) {
            errors.add(new FieldError("mask_blur", "must be between 0 and " + MAX_MASK_BLUR + " pixels, got " + r.maskBlur()));
        }
        spec.setMaskBlur(r.maskBlur() == null ? DEFAULT_MASK_BLUR : Math.max(0, Math.min(MAX_MASK_BLUR, r.maskBlur())));
        return inits.size();
    }

    /**
     * Hires fix: scale above 1 (at most 4) with the larger size within the limits, steps within
     * the limits (default: the job's), strength 0..1 (default 0.5), upscaler bicubic (what the workers resize init images with); the second
     * pass doubles the job's task count, which must stay within the limit.
     */
    private void validateHires(JobRequest.HiresRequest h, JobSpec.Builder spec, List<FieldError> errors) {
        if (h == null) {
            return;
        }
        float scale = range(errors, "hires.scale", h.scale(), 2f, 1f, MAX_HIRES_SCALE);
        if (scale <= 1f) {
            errors.add(new FieldError("hires.scale", "must be above 1 (the second pass's size over the first's), got " + scale));
        }
        int w = dev.cnfarm.coordinator.jobs.JobExpander.hiresSide(spec.getWidth(), scale);
        int hgt = dev.cnfarm.coordinator.jobs.JobExpander.hiresSide(spec.getHeight(), scale);
        if (w > limits.maxSide() || hgt > limits.maxSide()) {
            errors.add(new FieldError("hires.scale", scale + " x " + spec.getWidth() + "x" + spec.getHeight() + " is " + w + "x" + hgt
                    + ", past the largest side of " + limits.maxSide() + "; use a smaller scale or base size"));
        }
        int steps = h.steps() == null ? 0 : range(errors, "hires.steps", h.steps(), 0, 1, limits.maxSteps());
        float strength = range(errors, "hires.strength", h.strength(), 0.5f, 0f, 1f);
        String upscaler = h.upscaler() == null ? "bicubic" : h.upscaler();
        if (!upscaler.equals("bicubic")) {
            errors.add(new FieldError("hires.upscaler", "unknown upscaler '" + upscaler + "'; use bicubic (the one the workers have)"));
        }
        long base = dev.cnfarm.coordinator.jobs.JobExpander.baseCount(spec.buildPartial());
        if (2 * base > limits.maxTasks()) {
            errors.add(new FieldError("hires", "doubles the job's " + base + " images to " + 2 * base + " tasks; at most " + limits.maxTasks()
                    + " are allowed per job: split it into several jobs"));
        }
        spec.setHires(dev.cnfarm.proto.v1.HiresFix.newBuilder().setScale(scale).setSteps(steps).setStrength(strength).setUpscaler(upscaler));
    }

    /**
     * Tiled upscale: scale above 1 (at most 8), the enlarged image at most {@link #MAX_UPSCALED_SIDE}
     * a side; tiles a multiple of 8 within the size limits, overlap a multiple of 8 below half a tile;
     * strength 0..1 (default 0.35); the job's tasks (images, their tiles, a blend each) within the limit.
     */
    private void validateUpscale(JobRequest.UpscaleRequest u, JobSpec.Builder spec, List<FieldError> errors) {
        if (u == null) {
            return;
        }
        float scale = range(errors, "upscale.scale", u.scale(), 2f, 1f, MAX_UPSCALE);
        if (scale <= 1f) {
            errors.add(new FieldError("upscale.scale", "must be above 1 (the final size over the first pass's), got " + scale));
        }
        int w = dev.cnfarm.coordinator.jobs.JobExpander.hiresSide(spec.getWidth(), scale);
        int h = dev.cnfarm.coordinator.jobs.JobExpander.hiresSide(spec.getHeight(), scale);
        if (w > MAX_UPSCALED_SIDE || h > MAX_UPSCALED_SIDE) {
            errors.add(new FieldError("upscale.scale", scale + " x " + spec.getWidth() + "x" + spec.getHeight() + " is " + w + "x" + h
                    + ", past the largest upscaled side of " + MAX_UPSCALED_SIDE + "; use a smaller scale or base size"));
        }
        int tile = range(errors, "upscale.tile", u.tile(), 512, limits.minSide(), limits.maxSide());
        if (tile % 8 != 0) {
            errors.add(new FieldError("upscale.tile", "must be a multiple of 8, got " + tile));
        }
        int overlap = u.overlap() == null ? 64 : u.overlap();
        if (overlap < 0 || overlap % 8 != 0 || overlap * 2 > tile) {
            errors.add(new FieldError("upscale.overlap", "must be a multiple of 8 from 0 to half the tile (" + tile / 2 + "), got " + overlap
                    + (overlap >= tile ? ": a tile smaller than its overlap covers nothing new" : "")));
        }
        int steps = u.steps() == null ? 0 : range(errors, "upscale.steps", u.steps(), 0, 1, limits.maxSteps());
        float strength = range(errors, "upscale.strength", u.strength(), 0.35f, 0f, 1f);
        dev.cnfarm.proto.v1.TiledUpscale up = dev.cnfarm.proto.v1.TiledUpscale.newBuilder().setScale(scale).setTile(tile)
                .setOverlap(Math.max(0, overlap)).setStrength(strength).setSteps(steps).build();
        boolean usable = errors.stream().noneMatch(e -> e.field().startsWith("upscale"));
        if (usable) {
            long base = dev.cnfarm.coordinator.jobs.JobExpander.baseCount(spec.buildPartial());
            long tasks = dev.cnfarm.coordinator.jobs.JobExpander.taskCount(spec.clone().setUpscale(up).buildPartial());
            if (tasks > limits.maxTasks()) {
                errors.add(new FieldError("upscale", base + " images with their tiles and blends make " + tasks + " tasks; at most "
                        + limits.maxTasks() + " are allowed per job: use larger tiles, or split the job"));
            }
        }
        spec.setUpscale(up);
    }

    /** @param missing where to list absent images instead of refusing them, or null to refuse */
    private int validateControlImages(List<String> keys, String tenant, JobSpec.Builder spec, List<FieldError> errors,
                                      List<String> missing) {
        if (keys == null || keys.isEmpty()) {
            // no control images: a text-to-image job, one cell per prompt and seed, rendered by the plain UNet
            return 1;
        }
        if (keys.size() > limits.maxControlImages()) {
            errors.add(new FieldError("control_images", "has " + keys.size() + " entries; at most " + limits.maxControlImages() + " are allowed"));
            return 0;
        }
        for (int i = 0; i < keys.size(); i++) {
            ObjectRef ref = imageRef(keys.get(i), "control_images[" + i + "]", tenant, errors, missing);
            if (ref != null) {
                spec.addControlImages(ref);
            }
        }
        return keys.size();
    }

    /** The pool training jobs go to unless they name another: the trainers' ({@code farm trainer}). */
    public static final String TRAIN_POOL = "train";

    /**
     * A ControlNet training job: one task for the train pool. Its fields are checked as {@code farm
     * train controlnet} checks a job file, each problem named {@code train_controlnet.FIELD}; its data
     * set must be an archive this tenant uploaded, its base a model id the trainers serve.
     */
    private Validated validateTraining(JobRequest r, String tenant, boolean quoteOnly) {
        List<FieldError> errors = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        JobSpec.Builder spec = JobSpec.newBuilder();
        if (r.prompts() != null || r.controlImages() != null || r.rows() != null || r.seeds() != null) {
            errors.add(new FieldError("train_controlnet", "a training job takes its images from its data set: leave out prompts, "
                    + "control_images, seeds and rows"));
        }
        dev.cnfarm.common.training.ControlNetJob job = null;
        try {
            job = dev.cnfarm.common.training.ControlNetJob.parse(r.trainControlnet());
        } catch (dev.cnfarm.common.training.InvalidTrainingJobException e) {
            e.problems().forEach(p -> errors.add(new FieldError("train_controlnet." + p.field(), p.message())));
        }
        if (job != null) {
            if (!MODEL_ID.matcher(job.base()).matches()) {
                errors.add(new FieldError("train_controlnet.base", "'" + job.base() + "' is not a model id: name a base model the "
                        + "trainers serve (lowercase letters, digits, '.', '_', '-')"));
            }
            imageRef(job.dataset(), "train_controlnet.dataset", tenant, errors, quoteOnly ? missing : null);
            spec.setModel(job.base()).setSteps(job.steps()).setTrainControlnetJson(job.toJson());
            spec.setName(r.name() != null ? r.name() : "train " + job.name());
        }
        spec.setPriority(range(errors, "priority", r.priority(), 0, -100, 100));
        if (r.pool() != null && !Topics.POOL_NAME.matcher(r.pool()).matches()) {
            errors.add(new FieldError("pool", "'" + r.pool() + "' is not a pool name (the trainers' worker.pool setting)"));
        }
        spec.setPool(r.pool() != null ? r.pool() : TRAIN_POOL);
        if (!errors.isEmpty()) {
            throw new InvalidJobException(errors);
        }
        return new Validated(spec.build(), List.copyOf(missing));
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
