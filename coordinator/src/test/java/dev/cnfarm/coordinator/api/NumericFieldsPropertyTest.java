package dev.cnfarm.coordinator.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.cnfarm.common.storage.ObjectInfo;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Every numeric field of a job, wherever it sits (the job, a row, an extra ControlNet, a list
 * element), given what it cannot hold: a fraction where a whole number belongs, a string, a number
 * too large for it, NaN or Infinity, a boolean, an array, an object. Each is refused with an error
 * naming that field, and no message carries the JSON library's own words. Whole-number fields are
 * never silently truncated (20.5 steps was once rendered as 20).
 */
class NumericFieldsPropertyTest {
    private static final String SHA = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
    private static final String KEY = "uploads/default/" + SHA;
    /** Library words a message must not show. */
    private static final List<String> LIBRARY_TEXT = List.of("Cannot", "coerce", "Coercion", "java.", "`", "Jackson", "JsonToken",
            "deserialize", "MismatchedInput", "Source:", "through reference chain");

    private final JobValidator validator = new JobValidator(JobLimits.defaults(1000),
            key -> key.equals(KEY) ? Optional.of(new ObjectInfo(key, 1234, "", "image/png")) : Optional.empty());

    /** A numeric field: how it is reached (a JSON body with %s where the value goes) and its error path. */
    record Field(String path, String body, boolean whole) {}

    private static final String MATRIX = "{\"prompts\":[\"p\"],\"control_images\":[\"" + KEY + "\"],%s}";

    private static final List<Field> FIELDS = List.of(
            new Field("steps", MATRIX.formatted("\"steps\":%s"), true),
            new Field("width", MATRIX.formatted("\"width\":%s"), true),
            new Field("height", MATRIX.formatted("\"height\":%s"), true),
            new Field("priority", MATRIX.formatted("\"priority\":%s"), true),
            new Field("batch_size", MATRIX.formatted("\"batch_size\":%s"), true),
            new Field("seeds[1]", MATRIX.formatted("\"seeds\":[1,%s]"), true),
            new Field("guidance_scale", MATRIX.formatted("\"guidance_scale\":%s"), false),
            new Field("control_scale", MATRIX.formatted("\"control_scale\":%s"), false),
            new Field("control_start", MATRIX.formatted("\"control_start\":%s"), false),
            new Field("control_end", MATRIX.formatted("\"control_end\":%s"), false),
            new Field("eta", MATRIX.formatted("\"eta\":%s"), false),
            new Field("additional_controlnets[0].scale", MATRIX.formatted("\"additional_controlnets\":[{\"image\":\"" + KEY + "\",\"scale\":%s}]"), false),
            new Field("additional_controlnets[0].start", MATRIX.formatted("\"additional_controlnets\":[{\"image\":\"" + KEY + "\",\"start\":%s}]"), false),
            new Field("rows[0].seed", "{\"rows\":[{\"prompt\":\"p\",\"seed\":%s}]}", true),
            new Field("rows[0].steps", "{\"rows\":[{\"prompt\":\"p\",\"steps\":%s}]}", true),
            new Field("rows[0].guidance_scale", "{\"rows\":[{\"prompt\":\"p\",\"guidance_scale\":%s}]}", false),
            new Field("rows[0].control_scale", "{\"rows\":[{\"prompt\":\"p\",\"control_scale\":%s}]}", false));

    /** Values no numeric field may hold, and for whole-number fields, fractions too. */
    @Provide
    Arbitrary<String> badForAny() {
        return Arbitraries.oneOf(
                Arbitraries.strings().alpha().ofMinLength(0).ofMaxLength(8).map(s -> "\"" + s + "\""),
                Arbitraries.integers().between(1, 50).map(i -> "\"" + i + "\""),
                Arbitraries.of("true", "false", "NaN", "Infinity", "-Infinity", "[]", "[1]", "{}", "{\"a\":1}",
                        "99999999999999999999999", "-99999999999999999999999", "1e999", "-1e999"));
    }

    @Provide
    Arbitrary<String> fractions() {
        return Combinators.combine(Arbitraries.integers().between(-5, 200), Arbitraries.integers().between(1, 99))
                .as((i, f) -> i + "." + f);
    }

    @Provide
    Arbitrary<Field> fields() {
        return Arbitraries.of(FIELDS);
    }

    @Provide
    Arbitrary<Field> wholeFields() {
        return Arbitraries.of(FIELDS.stream().filter(Field::whole).toList());
    }

    @Property(tries = 2000)
    void aValueNoNumericFieldHoldsIsRefusedNamingTheField(@ForAll("fields") Field f, @ForAll("badForAny") String value) {
        assertRefused(f, value);
    }

    @Property(tries = 1000)
    void aFractionInAWholeNumberFieldIsRefusedNotTruncated(@ForAll("wholeFields") Field f, @ForAll("fractions") String value) {
        assertRefused(f, value);
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
            "\"steps\":20.5                  | steps    | must be a whole number, got 20.5 (a number with a fraction)",
            "\"steps\":\"ten\"                | steps    | must be a whole number, got \"ten\" (a string)",
            "\"seeds\":[1.7]                 | seeds[0] | must be a whole number (at most 19 digits), got 1.7 (a number with a fraction)",
            "\"seeds\":[99999999999999999999] | seeds[0] | must be a whole number (at most 19 digits) in range, got 99999999999999999999 (a whole number)",
            "\"width\":3000000000            | width    | must be a whole number in range, got 3000000000 (a whole number)",
            "\"eta\":NaN                     | eta      | must be a number; NaN and Infinity are not JSON numbers",
            "\"guess_mode\":1                | guess_mode | must be true or false, got 1 (a whole number)",
            "\"guidance_scale\":true         | guidance_scale | must be a number, got true (a boolean)"})
    void messagesSayWhatTheFieldGotAndNeedsInTheApisWords(String fields, String field, String message) {
        String body = MATRIX.formatted(fields);
        try {
            validator.validate(JobRequestParser.parse(body), "default");
            fail("accepted " + body);
        } catch (InvalidJobException e) {
            assertThat(e.errors()).containsExactly(new FieldError(field.strip(), message.strip()));
        }
    }

    private void assertRefused(Field f, String value) {
        String body = f.body().formatted(value);
        try {
            validator.validate(JobRequestParser.parse(body), "default");
            fail("accepted " + f.path() + " = " + value + ": " + body);
        } catch (InvalidJobException e) {
            assertThat(e.errors()).as("errors of %s", body).anySatisfy(err -> assertThat(err.field()).isEqualTo(f.path()));
            for (FieldError err : e.errors()) {
                for (String word : LIBRARY_TEXT) {
                    assertThat(err.message()).as("%s: %s", body, err.message()).doesNotContain(word);
                }
            }
        }
    }
}
