package dev.cnfarm.coordinator.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cnfarm.common.storage.ObjectInfo;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * Property tests (jqwik) of the job-spec parser and validator: whatever body arrives, the answer
 * is a valid spec or field errors that each name a field and say what is wrong, never another
 * exception (which the API would turn into a 500). Bodies are valid jobs with one part broken:
 * characters cut, inserted or swapped, a field's value replaced by a value of any JSON type, or
 * fields of the job given in odd combinations. Tries are bounded so the run stays short in CI.
 */
class JobSpecFuzzTest {
    private static final String SHA = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
    private static final String KEY = "uploads/default/" + SHA;
    private static final String VALID = """
            {"name": "fuzz", "prompts": ["a house", "a tree"], "negative_prompt": "blurry", "control_images": ["%s"],
             "seeds": [1, 2, 3], "steps": 20, "width": 512, "height": 512, "guidance_scale": 7.5, "control_scale": 1.0,
             "control_start": 0.0, "control_end": 1.0, "control_mode": "balanced", "guess_mode": false, "scheduler": "euler",
             "eta": 0.0, "model": "tiny", "priority": 0, "preprocessor": "canny", "preprocessor_params": {"low": 100},
             "resize_mode": "crop_and_resize", "webhook_url": "https://example.com/hook", "pool": "default",
             "additional_controlnets": [{"image": "%s", "scale": 0.5, "start": 0.1, "end": 0.9, "mode": "prompt"}]}
            """.formatted(KEY, KEY);
    private static final List<String> FIELDS = List.of("name", "prompts", "negative_prompt", "control_images", "seeds", "steps",
            "width", "height", "guidance_scale", "control_scale", "control_start", "control_end", "control_mode", "guess_mode",
            "scheduler", "eta", "model", "priority", "preprocessor", "preprocessor_params", "resize_mode", "webhook_url", "pool",
            "additional_controlnets", "rows", "no_such_field");

    private static final ObjectMapper QUOTER = new ObjectMapper();

    private final JobValidator validator = new JobValidator(JobLimits.defaults(1000),
            key -> key.equals(KEY) ? Optional.of(new ObjectInfo(key, 1234, "", "image/png")) : Optional.empty());

    @Property(tries = 10_000)
    void anyBodyIsASpecOrFieldErrors(@ForAll("bodies") String body) {
        try {
            validator.validate(JobRequestParser.parse(body), "default");
            Statistics.collect("accepted");
        } catch (InvalidJobException e) {
            Statistics.collect("refused");
            assertThat(e.errors()).as("refused with reasons: %s", body).isNotEmpty();
            assertThat(e.errors()).allSatisfy(err -> {
                assertThat(err.field()).as("a field named").isNotBlank();
                assertThat(err.message()).as("what is wrong with %s", err.field()).isNotBlank();
            });
        }
        // a fair share of the broken bodies must still be valid jobs, or only the parser is being tried
        Statistics.coverage(c -> {
            c.check("accepted").percentage(p -> p > 3);
            c.check("refused").percentage(p -> p > 30);
        });
    }

    @Property(tries = 500)
    void theValidJobStaysValidWithAnyFieldOmitted(@ForAll("fieldNames") String field) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode job = (ObjectNode) json.readTree(VALID);
        job.remove(field);
        String body = json.writeValueAsString(job);
        try {
            validator.validate(JobRequestParser.parse(body), "default");
        } catch (InvalidJobException e) {
            // only the fields a job cannot do without may be reported missing, and the preprocessor's
            // parameters when the preprocessor they belong to is left out (the default takes none)
            assertThat(e.errors()).extracting(FieldError::field).allMatch(f -> f.equals("prompts") || f.equals("control_images")
                    || f.equals("rows") || (field.equals("preprocessor") && f.equals("preprocessor_params"))
                    // without control images the job is text to image, which takes no further ControlNets
                    || (field.equals("control_images") && f.equals("additional_controlnets")), field);
        }
    }

    @Provide
    Arbitrary<String> fieldNames() {
        return Arbitraries.of(FIELDS);
    }

    @Provide
    Arbitrary<String> bodies() {
        return Arbitraries.oneOf(cut(), inserted(), replacedValue(), randomObject());
    }

    /** A stretch of the valid body removed. */
    private Arbitrary<String> cut() {
        return Combinators.combine(Arbitraries.integers().between(0, VALID.length() - 1), Arbitraries.integers().between(1, 40))
                .as((at, n) -> VALID.substring(0, at) + VALID.substring(Math.min(VALID.length(), at + n)));
    }

    /** Random characters (JSON punctuation likely) put into the valid body. */
    private Arbitrary<String> inserted() {
        Arbitrary<String> junk = Arbitraries.oneOf(Arbitraries.strings().withChars("{}[]\",:.-+eE0123456789\\ntu").ofMaxLength(8),
                Arbitraries.strings().all().ofMaxLength(8));
        return Combinators.combine(Arbitraries.integers().between(0, VALID.length()), junk)
                .as((at, s) -> VALID.substring(0, at) + s + VALID.substring(at));
    }

    /** One field's value replaced by any JSON value. */
    private Arbitrary<String> replacedValue() {
        return Combinators.combine(Arbitraries.of(FIELDS), jsonValue(2)).as((field, value) -> VALID.contains("\"" + field + "\"")
                ? VALID.replaceFirst("\"" + field + "\": (\\[[^\\]]*\\]|\\{[^}]*\\}|\"[^\"]*\"|[^,}]+)",
                        java.util.regex.Matcher.quoteReplacement("\"" + field + "\": " + value))
                : VALID.replaceFirst("\\{", java.util.regex.Matcher.quoteReplacement("{\"" + field + "\": " + value + ", ")));
    }

    /** An object of known (and unknown) field names with values of any type. */
    private Arbitrary<String> randomObject() {
        Arbitrary<String> member = Combinators.combine(Arbitraries.of(FIELDS), jsonValue(2)).as((f, v) -> "\"" + f + "\": " + v);
        return member.list().ofMaxSize(8).map(ms -> "{" + String.join(", ", ms) + "}");
    }

    private static Arbitrary<String> jsonValue(int depth) {
        Arbitrary<String> scalar = Arbitraries.oneOf(
                Arbitraries.integers().map(String::valueOf),
                Arbitraries.longs().map(String::valueOf),
                Arbitraries.doubles().map(String::valueOf),
                Arbitraries.of("1e309", "-0", "0.0000001", "99999999999999999999999", "NaN", "true", "false", "null", "\"\""),
                Arbitraries.strings().all().ofMaxLength(30).map(JobSpecFuzzTest::quote),
                Arbitraries.of(KEY, "uploads/other/" + SHA, "../../etc/passwd", "http://x", "canny", "euler", "tiny").map(JobSpecFuzzTest::quote));
        if (depth == 0) {
            return scalar;
        }
        Arbitrary<String> array = jsonValue(depth - 1).list().ofMaxSize(4).map(vs -> "[" + String.join(", ", vs) + "]");
        Arbitrary<String> object = Combinators.combine(Arbitraries.strings().alpha().ofMaxLength(10), jsonValue(depth - 1))
                .as((k, v) -> quote(k) + ": " + v).list().ofMaxSize(3).map(ms -> "{" + String.join(", ", ms) + "}");
        return Arbitraries.oneOf(scalar, array, object);
    }

    /** A JSON string literal, escaped by Jackson. */
    private static String quote(String s) {
        try {
            return QUOTER.writeValueAsString(s);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
