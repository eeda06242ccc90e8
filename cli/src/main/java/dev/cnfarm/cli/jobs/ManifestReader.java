package dev.cnfarm.cli.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import dev.cnfarm.common.json.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads a manifest, one image per row, into the job's {@code rows}: CSV with a header line, or
 * JSON Lines (one object per line). Columns: {@code prompt}, optionally {@code control_image} (a local
 * file, relative to the manifest, or an uploaded key; without one the row renders text to image), and {@code negative_prompt},
 * {@code seed}, {@code steps}, {@code guidance_scale}, {@code control_scale}, {@code init_image} and {@code mask_image}
 * (img2img and inpainting; files like control_image). Empty cells take the
 * job's values. Problems name the file, the line and the column.
 */
public final class ManifestReader {
    /** Column name to its type: text, whole number or decimal. */
    static final Map<String, Character> COLUMNS = Map.of(
            "prompt", 's', "negative_prompt", 's', "control_image", 's', "seed", 'l', "steps", 'i',
            "guidance_scale", 'f', "control_scale", 'f', "init_image", 's', "mask_image", 's');
    /** A row without a control image renders text to image. */
    private static final Set<String> REQUIRED = Set.of("prompt");

    private ManifestReader() {}

    public static boolean isManifest(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".csv") || n.endsWith(".jsonl") || n.endsWith(".ndjson");
    }

    public static ArrayNode read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("manifest " + file + " does not exist");
        }
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        try {
            return n.endsWith(".csv") ? readCsv(file) : readJsonLines(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("manifest " + file + " cannot be read: " + String.valueOf(e.getMessage()).split("\n")[0]);
        }
    }

    private static ArrayNode readCsv(Path file) throws IOException {
        CsvMapper csv = new CsvMapper();
        csv.enable(CsvParser.Feature.TRIM_SPACES);
        csv.enable(CsvParser.Feature.SKIP_EMPTY_LINES);
        CsvSchema schema = CsvSchema.emptySchema().withHeader();
        ArrayNode rows = Json.mapper().createArrayNode();
        try (MappingIterator<Map<String, String>> it = csv.readerFor(Map.class).with(schema).readValues(file.toFile())) {
            int line = 1; // the header
            while (it.hasNext()) {
                Map<String, String> cells;
                line++;
                try {
                    cells = it.next();
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException(file.getFileName() + " line " + line + ": " + String.valueOf(e.getMessage()).split("\n")[0]);
                }
                ObjectNode row = Json.mapper().createObjectNode();
                for (Map.Entry<String, String> c : cells.entrySet()) {
                    put(row, file, line, c.getKey(), c.getValue());
                }
                requireColumns(row, file, line);
                rows.add(row);
            }
        }
        return rows;
    }

    private static ArrayNode readJsonLines(Path file) throws IOException {
        ArrayNode rows = Json.mapper().createArrayNode();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String text;
            int line = 0;
            while ((text = in.readLine()) != null) {
                line++;
                if (text.isBlank()) {
                    continue;
                }
                JsonNode node;
                try {
                    node = Json.mapper().readTree(text);
                } catch (IOException e) {
                    throw new IllegalArgumentException(file.getFileName() + " line " + line + ": not a JSON object: "
                            + String.valueOf(e.getMessage()).split("\n")[0]);
                }
                if (node == null || !node.isObject()) {
                    throw new IllegalArgumentException(file.getFileName() + " line " + line + ": each line must be one JSON object");
                }
                ObjectNode row = Json.mapper().createObjectNode();
                for (Map.Entry<String, JsonNode> f : (Iterable<Map.Entry<String, JsonNode>>) node::fields) {
                    put(row, file, line, f.getKey(), f.getValue().isNull() ? "" : f.getValue().asText());
                }
                requireColumns(row, file, line);
                rows.add(row);
            }
        }
        return rows;
    }

    private static void put(ObjectNode row, Path file, int line, String column, String value) {
        Character type = COLUMNS.get(column);
        if (type == null) {
            throw new IllegalArgumentException(file.getFileName() + " line " + line + ": unknown column '" + column + "'; columns are "
                    + new java.util.TreeSet<>(COLUMNS.keySet()));
        }
        if (value == null || value.isEmpty()) {
            return; // the job's value applies
        }
        try {
            switch (type) {
                case 'l' -> row.put(column, Long.parseLong(value));
                case 'i' -> row.put(column, Integer.parseInt(value));
                case 'f' -> row.put(column, Float.parseFloat(value));
                default -> row.put(column, value);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(file.getFileName() + " line " + line + ": " + column + " '" + value + "' is not a "
                    + (type == 'f' ? "number" : "whole number"));
        }
    }

    private static void requireColumns(ObjectNode row, Path file, int line) {
        for (String c : List.copyOf(new java.util.TreeSet<>(REQUIRED))) {
            if (!row.hasNonNull(c)) {
                throw new IllegalArgumentException(file.getFileName() + " line " + line + ": " + c + " is required");
            }
        }
    }
}
