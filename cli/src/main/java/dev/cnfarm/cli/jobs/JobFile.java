package dev.cnfarm.cli.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cnfarm.common.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A job file (YAML or JSON) as the user writes it: the fields of the REST API's job, where
 * {@code control_images}, {@code init_images}, {@code mask_images}, rows' {@code control_image},
 * {@code init_image} and {@code mask_image}, and {@code loras[].file} may name local files
 * (relative to the job file) instead of uploaded keys, and a LoRA without a name is named after its
 * file. {@link #resolve} uploads those files and returns the job as the API takes it.
 */
public final class JobFile {
    private static final String UPLOADED_PREFIX = "uploads/";
    /** The job's lists of images, and a row's images: where local files may be named. */
    private static final List<String> IMAGE_LISTS = List.of("control_images", "init_images", "mask_images");
    private static final List<String> ROW_IMAGES = List.of("control_image", "init_image", "mask_image");

    private final Path file;
    private final ObjectNode job;

    private JobFile(Path file, ObjectNode job) {
        this.file = file;
        this.job = job;
    }

    public static JobFile read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("job file " + file + " does not exist");
        }
        JsonNode node;
        try {
            node = Json.yaml().readTree(file.toFile()); // YAML is a superset of JSON
        } catch (IOException e) {
            throw new IllegalArgumentException("job file " + file + " is not valid YAML or JSON: " + e.getMessage().split("\n")[0]);
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("job file " + file + " must hold a mapping of job fields (prompts, control_images, ...)");
        }
        ObjectNode job = (ObjectNode) node;
        Path dir = file.toAbsolutePath().getParent();
        nameLoras(job);
        JsonNode manifest = job.remove("manifest");
        JsonNode zip = job.remove("zip");
        if (manifest != null && zip != null) {
            throw new IllegalArgumentException("job file " + file + ": give either manifest or zip, not both");
        }
        if (manifest != null) {
            if (!manifest.isTextual()) {
                throw new IllegalArgumentException("job file " + file + ": manifest must be the path of a CSV or JSONL file");
            }
            Path m = dir.resolve(manifest.asText()).normalize();
            job.set("rows", absoluteImages(ManifestReader.read(m), m.getParent()));
        } else if (zip != null) {
            job.set("rows", zipRows(file, zip));
        }
        return new JobFile(file, job);
    }

    /** A LoRA without a name takes its file's (without {@code .safetensors}): what A1111's prompt tags name it by. */
    private static void nameLoras(ObjectNode job) {
        JsonNode loras = job.get("loras");
        if (loras == null || !loras.isArray()) {
            return;
        }
        for (JsonNode l : loras) {
            if (l.isObject() && !l.has("name") && l.path("file").isTextual() && !l.path("file").asText().startsWith(UPLOADED_PREFIX)) {
                String stem = Path.of(l.path("file").asText()).getFileName().toString();
                ((ObjectNode) l).put("name", stem.endsWith(".safetensors") ? stem.substring(0, stem.length() - ".safetensors".length()) : stem);
            }
        }
    }

    /** A manifest alone is a job: its rows, with every other field at the farm's defaults. */
    public static JobFile fromManifest(Path manifest) {
        ObjectNode job = Json.mapper().createObjectNode();
        job.put("name", manifest.getFileName().toString());
        job.set("rows", absoluteImages(ManifestReader.read(manifest), manifest.toAbsolutePath().getParent()));
        return new JobFile(manifest, job);
    }

    /**
     * {@code zip: {prompts: [...], control_images: [...], seeds: [...]}}: lists of one length,
     * taken together item by item (row i is the i-th of each) instead of multiplied as a matrix.
     */
    private static ArrayNode zipRows(Path file, JsonNode zip) {
        Map<String, String> columns = Map.of("prompts", "prompt", "negative_prompts", "negative_prompt",
                "control_images", "control_image", "seeds", "seed", "steps", "steps", "guidance_scales", "guidance_scale",
                "control_scales", "control_scale");
        if (!zip.isObject()) {
            throw new IllegalArgumentException("job file " + file + ": zip must map lists to zip, e.g. zip: {prompts: [...], control_images: [...]}");
        }
        int length = -1;
        String first = null;
        for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) zip::fields) {
            if (!columns.containsKey(e.getKey())) {
                throw new IllegalArgumentException("job file " + file + ": zip." + e.getKey() + " cannot be zipped; use "
                        + new java.util.TreeSet<>(columns.keySet()));
            }
            if (!e.getValue().isArray()) {
                throw new IllegalArgumentException("job file " + file + ": zip." + e.getKey() + " must be a list");
            }
            if (length >= 0 && e.getValue().size() != length) {
                throw new IllegalArgumentException("job file " + file + ": zip." + e.getKey() + " has " + e.getValue().size()
                        + " items but zip." + first + " has " + length + "; zipped lists must have one length");
            }
            length = e.getValue().size();
            first = first == null ? e.getKey() : first;
        }
        ArrayNode rows = Json.mapper().createArrayNode();
        for (int i = 0; i < Math.max(0, length); i++) {
            ObjectNode row = rows.addObject();
            for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) zip::fields) {
                row.set(columns.get(e.getKey()), e.getValue().get(i));
            }
        }
        return rows;
    }

    /** Local control images of manifest rows, made absolute: they are relative to the manifest, not the job file. */
    private static ArrayNode absoluteImages(ArrayNode rows, Path dir) {
        for (JsonNode row : rows) {
            for (String field : ROW_IMAGES) {
                JsonNode img = row.get(field);
                if (img != null && img.isTextual() && !img.asText().startsWith(UPLOADED_PREFIX)) {
                    ((ObjectNode) row).put(field, dir.resolve(img.asText()).normalize().toString());
                }
            }
        }
        return rows;
    }

    /** Number of images the job asks for as written (rows, or the matrix's product); -1 when it cannot be told here. */
    public long imageCount() {
        JsonNode rows = job.get("rows");
        if (rows != null && rows.isArray()) {
            return rows.size();
        }
        long n = 1;
        for (String f : List.of("prompts", "control_images", "seeds")) {
            JsonNode list = job.get(f);
            if (list == null && !f.equals("prompts")) {
                continue; // one random seed; no control images: text to image
            }
            if (list == null || !list.isArray()) {
                return -1;
            }
            n *= list.size();
        }
        return n;
    }

    /** The local files the job names (control images and LoRA files), in order, without duplicates. */
    public List<Path> localFiles() {
        // every place a file is named: the matrix's list, each row's image, each LoRA
        Map<String, JsonNode> named = new LinkedHashMap<>();
        JsonNode rows = job.get("rows");
        if (rows != null && rows.isArray()) {
            for (int i = 0; i < rows.size(); i++) {
                for (String field : ROW_IMAGES) {
                    named.put("rows[" + i + "]." + field, rows.get(i).path(field));
                }
            }
        }
        for (String list : IMAGE_LISTS) {
            JsonNode images = job.get(list);
            if (images != null && images.isArray()) {
                for (int i = 0; i < images.size(); i++) {
                    named.put(list + "[" + i + "]", images.get(i));
                }
            }
        }
        JsonNode loras = job.get("loras");
        if (loras != null && loras.isArray()) {
            for (int i = 0; i < loras.size(); i++) {
                named.put("loras[" + i + "].file", loras.get(i).path("file"));
            }
        }
        java.util.Set<Path> out = new java.util.LinkedHashSet<>();
        for (Map.Entry<String, JsonNode> e : named.entrySet()) {
            JsonNode n = e.getValue();
            if (n.isTextual() && !n.asText().startsWith(UPLOADED_PREFIX)) {
                Path p = localPath(n.asText());
                if (!out.contains(p) && !Files.isRegularFile(p)) {
                    throw new IllegalArgumentException(e.getKey() + ": file '" + n.asText() + "' not found"
                            + " (paths are relative to the job file, " + file.toAbsolutePath().getParent() + ")");
                }
                out.add(p);
            }
        }
        return new ArrayList<>(out);
    }

    /**
     * The job as JSON for the API, with local files replaced by the keys {@code uploader} returns.
     * Other fields are passed through untouched: the coordinator validates them and names any
     * problem.
     */
    public String resolve(Function<Path, String> uploader) {
        Map<Path, String> keys = new LinkedHashMap<>();
        for (Path p : localFiles()) {
            keys.put(p, uploader.apply(p));
        }
        ObjectNode copy = job.deepCopy();
        JsonNode rows = copy.get("rows");
        if (rows != null && rows.isArray()) {
            for (JsonNode row : rows) {
                for (String field : ROW_IMAGES) {
                    JsonNode n = row.path(field);
                    if (n.isTextual() && !n.asText().startsWith(UPLOADED_PREFIX)) {
                        ((ObjectNode) row).put(field, keys.get(localPath(n.asText())));
                    }
                }
            }
        }
        for (String list : IMAGE_LISTS) {
            JsonNode images = copy.get(list);
            if (images != null && images.isArray()) {
                ArrayNode resolved = Json.mapper().createArrayNode();
                for (JsonNode n : images) {
                    if (n.isTextual() && !n.asText().startsWith(UPLOADED_PREFIX)) {
                        resolved.add(keys.get(localPath(n.asText())));
                    } else {
                        resolved.add(n);
                    }
                }
                copy.set(list, resolved);
            }
        }
        JsonNode loras = copy.get("loras");
        if (loras != null && loras.isArray()) {
            for (JsonNode l : loras) {
                JsonNode n = l.path("file");
                if (n.isTextual() && !n.asText().startsWith(UPLOADED_PREFIX)) {
                    ((ObjectNode) l).put("file", keys.get(localPath(n.asText())));
                }
            }
        }
        return copy.toString();
    }

    private Path localPath(String name) {
        Path p = Path.of(name);
        Path dir = file.toAbsolutePath().getParent();
        return (p.isAbsolute() ? p : dir.resolve(p)).normalize();
    }
}
