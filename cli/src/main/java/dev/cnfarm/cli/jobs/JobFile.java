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
 * {@code control_images} may name local files (relative to the job file) instead of uploaded
 * keys. {@link #resolve} uploads those files and returns the job as the API takes it.
 */
public final class JobFile {
    private static final String UPLOADED_PREFIX = "uploads/";

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
        return new JobFile(file, (ObjectNode) node);
    }

    /** The local files the job names, in order, without duplicates. */
    public List<Path> localControlImages() {
        List<Path> out = new ArrayList<>();
        JsonNode images = job.get("control_images");
        if (images == null || !images.isArray()) {
            return out;
        }
        for (int i = 0; i < images.size(); i++) {
            JsonNode n = images.get(i);
            if (n.isTextual() && !n.asText().startsWith(UPLOADED_PREFIX)) {
                Path p = localPath(n.asText());
                if (!Files.isRegularFile(p)) {
                    throw new IllegalArgumentException("control_images[" + i + "]: file '" + n.asText() + "' not found"
                            + " (paths are relative to the job file, " + file.toAbsolutePath().getParent() + ")");
                }
                if (!out.contains(p)) {
                    out.add(p);
                }
            }
        }
        return out;
    }

    /**
     * The job as JSON for the API, with local files replaced by the keys {@code uploader} returns.
     * Other fields are passed through untouched: the coordinator validates them and names any
     * problem.
     */
    public String resolve(Function<Path, String> uploader) {
        Map<Path, String> keys = new LinkedHashMap<>();
        for (Path p : localControlImages()) {
            keys.put(p, uploader.apply(p));
        }
        ObjectNode copy = job.deepCopy();
        JsonNode images = copy.get("control_images");
        if (images != null && images.isArray()) {
            ArrayNode resolved = Json.mapper().createArrayNode();
            for (JsonNode n : images) {
                if (n.isTextual() && !n.asText().startsWith(UPLOADED_PREFIX)) {
                    resolved.add(keys.get(localPath(n.asText())));
                } else {
                    resolved.add(n);
                }
            }
            copy.set("control_images", resolved);
        }
        return copy.toString();
    }

    private Path localPath(String name) {
        Path p = Path.of(name);
        Path dir = file.toAbsolutePath().getParent();
        return (p.isAbsolute() ? p : dir.resolve(p)).normalize();
    }
}
