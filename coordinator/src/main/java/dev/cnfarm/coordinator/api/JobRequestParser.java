package dev.cnfarm.coordinator.api;

import com.fasterxml.jackson.core.JsonProcessingException;
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
            + "additional_controlnets (image, scale, start, end, mode, preprocessor, preprocessor_params, resize_mode), "
            + "preprocessor, preprocessor_params, resize_mode, rows (prompt, negative_prompt, control_image, seed, steps, "
            + "guidance_scale, control_scale), webhook_url, pool, batch_size";

    private JobRequestParser() {}

    public static JobRequest parse(String body) {
        if (body == null || body.isBlank()) {
            throw invalid("body", "the request has no body; send the job as a JSON object");
        }
        try {
            JobRequest r = Json.mapper().readValue(body, JobRequest.class);
            if (r == null) {
                throw invalid("body", "the body is JSON null; send the job as a JSON object");
            }
            return r;
        } catch (UnrecognizedPropertyException e) {
            throw invalid(path(e), "unknown field '" + e.getPropertyName() + "'; known fields are: " + KNOWN_FIELDS);
        } catch (MismatchedInputException e) {
            String field = path(e);
            if (field.isEmpty()) {
                throw invalid("body", "the body must be a JSON object with the job's fields");
            }
            throw invalid(field, "expected " + describe(e.getTargetType()) + ", got something else"
                    + (e.getOriginalMessage() == null ? "" : " (" + firstLine(e.getOriginalMessage()) + ")"));
        } catch (JsonMappingException e) {
            throw invalid(path(e).isEmpty() ? "body" : path(e), firstLine(e.getOriginalMessage()));
        } catch (JsonProcessingException e) {
            throw invalid("body", "not valid JSON: " + firstLine(e.getOriginalMessage()));
        }
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
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "a whole number";
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
