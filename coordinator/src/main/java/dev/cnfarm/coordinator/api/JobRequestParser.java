package dev.cnfarm.coordinator.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import dev.cnfarm.common.json.Json;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Reads a job request body, turning every JSON problem into a {@link FieldError} that names the
 * field: an unknown field (a typo such as {@code step}), a value of the wrong type, or a body that
 * is not JSON at all.
 */
public final class JobRequestParser {
    private static final String KNOWN_FIELDS = "name, prompts, negative_prompt, control_images, seeds, steps, width, height, "
            + "guidance_scale, control_scale, control_start, control_end, control_mode, guess_mode, scheduler, eta, model, priority, "
            + "additional_controlnets (image, scale, start, end, mode, preprocessor, preprocessor_params, resize_mode, "
            + "controlnet), preprocessor, preprocessor_params, resize_mode, controlnet, rows (prompt, negative_prompt, control_image, seed, steps, "
            + "guidance_scale, control_scale, init_image, mask_image), webhook_url, pool, batch_size, noise, loras (name, file, weight), "
            + "init_images, strength, mask_images, mask_blur, hires (scale, steps, strength, upscaler), upscale (scale, tile, overlap, strength, steps), train_controlnet (a training job: "
            + String.join(", ", dev.cnfarm.common.training.ControlNetJob.FIELDS.keySet()) + ")";

    private JobRequestParser() {}

    public static JobRequest parse(String body) {
        if (body == null || body.isBlank()) {
            throw invalid("body", "the request has no body; send the job as a JSON object");
        }
        com.fasterxml.jackson.databind.JsonNode tree;
        try {
            // the tree first: syntax problems (and NaN, which JSON has not) are reported at the parser's position,
            // and a value a field cannot hold can be shown as the request wrote it
            tree = Json.mapper().readTree(body);
        } catch (JsonProcessingException e) {
            throw streamProblem(e);
        }
        if (tree == null || tree.isNull()) {
            throw invalid("body", "the body is JSON null; send the job as a JSON object");
        }
        if (!tree.isObject()) {
            throw invalid("body", "the body must be a JSON object with the job's fields");
        }
        try {
            return Json.mapper().treeToValue(tree, JobRequest.class);
        } catch (UnrecognizedPropertyException e) {
            throw invalid(path(e), "unknown field '" + e.getPropertyName() + "'; known fields are: " + KNOWN_FIELDS);
        } catch (MismatchedInputException e) {
            String field = path(e);
            if (field.isEmpty()) {
                throw invalid("body", "the body must be a JSON object with the job's fields");
            }
            throw invalid(field, "must be " + describe(e.getTargetType()) + ", got " + describe(tree.at(pointer(e))));
        } catch (JsonMappingException e) {
            if (e.getCause() instanceof InputCoercionException range) {
                throw invalid(path(e), "must be " + describe(range.getTargetType()) + " in range, got " + describe(tree.at(pointer(e))));
            }
            throw invalid(path(e).isEmpty() ? "body" : path(e), "cannot be read: " + plain(firstLine(e.getOriginalMessage())));
        } catch (InputCoercionException e) {
            throw invalid(path(e.getProcessor()), "must be " + describe(e.getTargetType()) + " in range");
        } catch (JsonProcessingException e) {
            throw streamProblem(e);
        }
    }

    /** The JSON pointer of the failing value, e.g. {@code /seeds/1}. */
    private static com.fasterxml.jackson.core.JsonPointer pointer(JsonMappingException e) {
        StringBuilder s = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            s.append('/').append(ref.getFieldName() != null ? ref.getFieldName().replace("~", "~0").replace("/", "~1") : ref.getIndex());
        }
        return com.fasterxml.jackson.core.JsonPointer.compile(s.toString());
    }

    /** A value as the request wrote it, in JSON's terms: {@code "ten" (a string)}. */
    private static String describe(com.fasterxml.jackson.databind.JsonNode n) {
        if (n == null || n.isMissingNode()) {
            return "a value of another type";
        }
        if (n.isTextual()) {
            return quote(n.asText()) + " (a string)";
        }
        if (n.isIntegralNumber()) {
            return n.asText() + " (a whole number)";
        }
        if (n.isNumber()) {
            return n.asText() + " (a number with a fraction)";
        }
        if (n.isBoolean()) {
            return n.asText() + " (a boolean)";
        }
        if (n.isNull()) {
            return "null";
        }
        return n.isArray() ? "an array" : "an object";
    }

    /** A number out of range for its field, a non-JSON token such as NaN, or broken JSON. */
    private static InvalidJobException streamProblem(JsonProcessingException e) {
        String field = path(e.getProcessor());
        String message = e.getOriginalMessage() != null && e.getOriginalMessage().contains("Non-standard token")
                ? "must be a number; NaN and Infinity are not JSON numbers"
                : "not valid JSON near line " + line(e) + ": " + plain(firstLine(e.getOriginalMessage()));
        return invalid(field.isEmpty() ? "body" : field, message);
    }

    private static String quote(String s) {
        String shown = s.length() > 40 ? s.substring(0, 40) + "..." : s;
        return "\"" + shown + "\"";
    }

    /** The JSON path where a parser stopped, e.g. {@code rows[3].seed}. */
    private static String path(Object processor) {
        if (!(processor instanceof JsonParser parser)) {
            return "";
        }
        List<String> parts = new java.util.ArrayList<>();
        for (JsonStreamContext c = parser.getParsingContext(); c != null && !c.inRoot(); c = c.getParent()) {
            if (c.inArray()) {
                parts.add(0, "[" + Math.max(0, c.getCurrentIndex()) + "]");
            } else if (c.getCurrentName() != null) {
                parts.add(0, "." + c.getCurrentName());
            }
        }
        return String.join("", parts).replaceFirst("^\\.", "");
    }

    private static int line(JsonProcessingException e) {
        return e.getLocation() == null ? 1 : e.getLocation().getLineNr();
    }

    /** A parser message without its Java-side details (class names, source references). */
    private static String plain(String s) {
        return s.replaceAll("\\(code \\d+\\)", "").replaceAll("`[^`]*`", "").replaceAll("\\s+", " ").strip();
    }

    /** @param field the JSON path; empty (a key that is itself empty) reports against the body */
    private static InvalidJobException invalid(String field, String message) {
        return new InvalidJobException(List.of(new FieldError(field.isBlank() ? "body" : field, message)));
    }

    /** The JSON path of the failing value, e.g. {@code seeds[1]}. */
    private static String path(JsonMappingException e) {
        return e.getPath().stream().map(ref -> ref.getFieldName() != null ? "." + ref.getFieldName() : "[" + ref.getIndex() + "]")
                .collect(Collectors.joining()).replaceFirst("^\\.", "");
    }

    private static String describe(Class<?> type) {
        if (type == null) {
            return "another type";
        }
        if (type == Integer.class || type == int.class) {
            return "a whole number";
        }
        if (type == Long.class || type == long.class) {
            return "a whole number (at most 19 digits)";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (java.util.Map.class.isAssignableFrom(type)) {
            return "an object";
        }
        if (type == Float.class || type == float.class || type == Double.class) {
            return "a number";
        }
        if (type == String.class) {
            return "a string";
        }
        if (List.class.isAssignableFrom(type)) {
            return "an array";
        }
        return "a " + type.getSimpleName();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
