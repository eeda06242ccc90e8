package dev.cnfarm.common.training;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A ControlNet training job: which base model, which data set and condition, and how to train.
 * Read from the job's JSON tree (a YAML job file reads into the same tree) by {@link #parse}, which
 * checks every field and refuses the job with all the bad ones named at once.
 *
 * @param name        the trained model's id (its bundle), such as {@code shapes-canny}
 * @param base        the base model: a trained model folder (relative to the job file)
 * @param dataset     the data set's manifest.csv (relative to the job file)
 * @param condition   what the control images are ({@code canny}, {@code scribble}, ...): the
 *                    ControlNet's name in the models that carry it
 * @param column      the manifest column of control images
 * @param links       {@code all}, or {@code small-scale}: only the middle-block link until {@code reconnectAt}
 */
public record ControlNetJob(String name, String base, String dataset, String condition, String column, String links, int reconnectAt,
                            String timestepSampling, int steps, int batch, int accumulation, double learningRate, int warmupSteps, double emptyCaptionRate,
                            double offsetNoise, double emaDecay, long seed, int checkpointEvery, int validation, int sampleEvery, int samples,
                            int sampleSteps, int unlockDecoderAt, double decoderLearningRate) {

    /** Every field with what it is (and its default), in the order the documentation lists them. */
    public static final Map<String, String> FIELDS = fields();

    private static Map<String, String> fields() {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("name", "the trained model's id, e.g. shapes-canny (required)");
        f.put("base", "the base model's folder: model.json, safetensors, tokenizer (required)");
        f.put("dataset", "the data set's manifest.csv: image, text and a control image column (required)");
        f.put("condition", "what the control images are, e.g. canny or scribble (required)");
        f.put("column", "the manifest's control image column (default conditioning_image)");
        f.put("links", "all, or small-scale: only the middle-block link until reconnect_at (default all)");
        f.put("reconnect_at", "small-scale: the step from which every link is used");
        f.put("unlock_decoder_at", "large-scale regime: the step from which the base UNet's decoder trains too (default 0: the base "
                + "stays locked)");
        f.put("decoder_learning_rate", "large-scale regime: the decoder's rate (default a tenth of learning_rate)");
        f.put("timestep_sampling", "uniform (the paper's), or cubic: most timesteps at high noise, where layout is decided "
                + "(default uniform)");
        f.put("steps", "optimiser steps (default 3000)");
        f.put("batch", "images per micro-batch (default 16)");
        f.put("accumulation", "micro-batches per step (default 1)");
        f.put("learning_rate", "AdamW's rate after warm-up (default 2e-4)");
        f.put("warmup_steps", "linear warm-up (default 100)");
        f.put("empty_caption_rate", "share of captions replaced by the empty one (default 0.5)");
        f.put("offset_noise", "per-channel noise offset, as the base was trained (default 0.1)");
        f.put("ema_decay", "moving average of the weights, 0 for none (default 0)");
        f.put("seed", "seed of every random draw (default 1)");
        f.put("checkpoint_every", "steps between checkpoints (default 250)");
        f.put("validation", "last rows kept out of training (default 256)");
        f.put("sample_every", "steps between sample grids, a multiple of checkpoint_every (default: at every checkpoint)");
        f.put("samples", "held-out rows rendered in each sample grid, at most validation (default 4, 0 for none)");
        f.put("sample_steps", "sampling steps of each sample (default 20)");
        return java.util.Collections.unmodifiableMap(f);
    }

    /**
     * The job as a job file's fields (JSON), which {@link #parse} reads back to the same job: how a
     * checked job travels from the coordinator to the trainer.
     */
    public String toJson() {
        com.fasterxml.jackson.databind.node.ObjectNode n = dev.cnfarm.common.json.Json.mapper().valueToTree(this);
        if (!"small-scale".equals(links)) {
            n.remove("reconnect_at"); // only small-scale training reconnects; parse refuses it otherwise
        }
        if (unlockDecoderAt == 0) {
            n.remove("unlock_decoder_at");
            n.remove("decoder_learning_rate"); // only the large-scale regime has one
        }
        return n.toString();
    }

    /** Reads and checks a job; every bad field is reported at once. */
    public static ControlNetJob parse(JsonNode tree) {
        List<InvalidTrainingJobException.Problem> p = new ArrayList<>();
        if (tree == null || !tree.isObject()) {
            throw new InvalidTrainingJobException(List.of(new InvalidTrainingJobException.Problem("job",
                    "must be a mapping of fields (" + String.join(", ", FIELDS.keySet()) + ")")));
        }
        for (Iterator<String> it = tree.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.containsKey(f)) {
                p.add(new InvalidTrainingJobException.Problem(f, "unknown field; known fields are " + String.join(", ", FIELDS.keySet())));
            }
        }
        Reader r = new Reader(tree, p);
        String name = r.name("name", null);
        String base = r.text("base", null);
        String dataset = r.text("dataset", null);
        String condition = r.name("condition", null);
        String column = r.text("column", "conditioning_image");
        String links = r.text("links", "all");
        if (links != null && !links.equals("all") && !links.equals("small-scale")) {
            p.add(new InvalidTrainingJobException.Problem("links", "must be all or small-scale, got '" + links + "'"));
        }
        int steps = r.integer("steps", 3000, 1, 10_000_000);
        int reconnectAt = r.integer("reconnect_at", 0, 0, 10_000_000);
        if ("small-scale".equals(links) && (reconnectAt < 1 || reconnectAt >= steps)) {
            p.add(new InvalidTrainingJobException.Problem("reconnect_at", "small-scale training needs the step (1 to steps - 1 = "
                    + (steps - 1) + ") from which every link is used, got " + reconnectAt));
        }
        if ("all".equals(links) && tree.has("reconnect_at")) {
            p.add(new InvalidTrainingJobException.Problem("reconnect_at", "only small-scale training reconnects links; set links: "
                    + "small-scale or drop reconnect_at"));
        }
        String timesteps = r.text("timestep_sampling", "uniform");
        if (timesteps != null && !timesteps.equals("uniform") && !timesteps.equals("cubic")) {
            p.add(new InvalidTrainingJobException.Problem("timestep_sampling", "must be uniform or cubic, got '" + timesteps + "'"));
        }
        int batch = r.integer("batch", 16, 1, 1024);
        int accumulation = r.integer("accumulation", 1, 1, 1024);
        double lr = r.decimal("learning_rate", 2e-4, 1e-9, 1.0);
        int warmup = r.integer("warmup_steps", 100, 0, 10_000_000);
        double empty = r.decimal("empty_caption_rate", 0.5, 0, 1);
        double offset = r.decimal("offset_noise", 0.1, 0, 1);
        double ema = r.decimal("ema_decay", 0, 0, 0.99999);
        long seed = r.integer("seed", 1, 0, Integer.MAX_VALUE);
        int checkpointEvery = r.integer("checkpoint_every", 250, 1, 10_000_000);
        int validation = r.integer("validation", 256, 0, 10_000_000);
        int sampleEvery = r.integer("sample_every", 0, 0, 10_000_000);
        if (sampleEvery > 0 && sampleEvery % checkpointEvery != 0) {
            p.add(new InvalidTrainingJobException.Problem("sample_every", "samples are rendered from checkpoints, so the interval must be a "
                    + "multiple of checkpoint_every (" + checkpointEvery + "), got " + sampleEvery));
        }
        int samples = r.integer("samples", Math.min(4, validation), 0, 64);
        if (samples > validation) {
            p.add(new InvalidTrainingJobException.Problem("samples", "samples are drawn from the " + validation + " held-out rows "
                    + "(validation); raise validation or ask for at most " + validation + " samples, got " + samples));
        }
        int sampleSteps = r.integer("sample_steps", 20, 1, 200);
        int unlockDecoderAt = r.integer("unlock_decoder_at", 0, 0, 10_000_000);
        if (unlockDecoderAt > 0 && unlockDecoderAt >= steps) {
            p.add(new InvalidTrainingJobException.Problem("unlock_decoder_at", "the decoder must unlock before the last step (1 to steps - 1 = "
                    + (steps - 1) + "), got " + unlockDecoderAt));
        }
        double decoderLr = r.decimal("decoder_learning_rate", lr / 10, 1e-9, 1.0);
        if (unlockDecoderAt == 0 && tree.has("decoder_learning_rate")) {
            p.add(new InvalidTrainingJobException.Problem("decoder_learning_rate", "only the large-scale regime trains the decoder; set "
                    + "unlock_decoder_at or drop decoder_learning_rate"));
        }
        if (unlockDecoderAt > 0 && ema > 0) {
            p.add(new InvalidTrainingJobException.Problem("ema_decay", "the moving average covers the ControlNet only, so it cannot be used "
                    + "with unlock_decoder_at (the decoder would be published unaveraged beside an averaged ControlNet); set ema_decay: 0"));
        }
        if (!p.isEmpty()) {
            throw new InvalidTrainingJobException(p);
        }
        return new ControlNetJob(name, base, dataset, condition, column, links, reconnectAt, timesteps, steps, batch, accumulation, lr, warmup, empty,
                offset, ema, seed, checkpointEvery, validation, sampleEvery, samples, sampleSteps, unlockDecoderAt,
                unlockDecoderAt > 0 ? decoderLr : 0);
    }

    /** Reads fields, adding a problem for each bad one and going on with a default. */
    private record Reader(JsonNode tree, List<InvalidTrainingJobException.Problem> problems) {
        String text(String field, String dflt) {
            JsonNode v = tree.get(field);
            if (v == null || v.isNull()) {
                if (dflt == null) {
                    problems.add(new InvalidTrainingJobException.Problem(field, "is required: " + FIELDS.get(field)));
                }
                return dflt;
            }
            if (!v.isTextual() || v.asText().isBlank()) {
                problems.add(new InvalidTrainingJobException.Problem(field, "must be a non-empty string, got " + v));
                return dflt;
            }
            return v.asText();
        }

        String name(String field, String dflt) {
            String s = text(field, dflt);
            if (s != null && !s.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")) {
                problems.add(new InvalidTrainingJobException.Problem(field, "must be letters, digits, '_', '-' or '.' (at most 64, "
                        + "starting with a letter or digit), got '" + s + "'"));
            }
            return s;
        }

        int integer(String field, int dflt, long min, long max) {
            JsonNode v = tree.get(field);
            if (v == null || v.isNull()) {
                return dflt;
            }
            if (!v.isIntegralNumber() || v.asLong() < min || v.asLong() > max) {
                problems.add(new InvalidTrainingJobException.Problem(field, "must be a whole number from " + min + " to " + max + ", got "
                        + v + (v.isTextual() ? " (a string)" : "")));
                return dflt;
            }
            return (int) v.asLong();
        }

        double decimal(String field, double dflt, double min, double max) {
            JsonNode v = tree.get(field);
            if (v == null || v.isNull()) {
                return dflt;
            }
            if (!v.isNumber() || !(v.asDouble() >= min && v.asDouble() <= max)) {
                problems.add(new InvalidTrainingJobException.Problem(field, String.format(Locale.ROOT, "must be a number from %s to %s, got %s%s",
                        min, max, v, v.isTextual() ? " (a string)" : "")));
                return dflt;
            }
            return v.asDouble();
        }
    }
}
