package dev.cnfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import java.io.PrintWriter;
import picocli.CommandLine.Option;

/**
 * {@code --output text|json}: text for people (tables, progress bars), JSON for scripts (one
 * document on stdout, no progress bars, the same fields as the REST API).
 */
public final class OutputOptions {
    public enum Format { text, json }

    @Option(names = {"-o", "--output"}, defaultValue = "text", paramLabel = "FORMAT",
            description = "text (default) or json: one JSON document on stdout for scripts, no progress bars")
    Format format = Format.text;

    public boolean json() {
        return format == Format.json;
    }

    public static void printJson(PrintWriter out, JsonNode node) {
        try {
            out.println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(node));
            out.flush();
        } catch (Exception e) {
            throw new IllegalStateException("cannot print JSON", e);
        }
    }
}
