package dev.cnfarm.common.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Every bad field of a training job is refused naming it; a good job gets the documented defaults. */
class ControlNetJobTest {
    private static final String GOOD = "\"name\":\"shapes-canny\",\"base\":\"trained/shapes\",\"dataset\":\"data/manifest.csv\",\"condition\":\"canny\"";

    private static JsonNode tree(String fields) throws Exception {
        return Json.mapper().readTree("{" + fields + "}");
    }

    @Test
    void aMinimalJobGetsTheDefaults() throws Exception {
        ControlNetJob j = ControlNetJob.parse(tree(GOOD));
        assertThat(j.column()).isEqualTo("conditioning_image");
        assertThat(j.links()).isEqualTo("all");
        assertThat(j.steps()).isEqualTo(3000);
        assertThat(j.batch()).isEqualTo(16);
        assertThat(j.learningRate()).isEqualTo(2e-4);
        assertThat(j.emptyCaptionRate()).isEqualTo(0.5);
        assertThat(j.checkpointEvery()).isEqualTo(250);
        assertThat(j.sampleEvery()).as("0: a sample grid at every checkpoint").isZero();
        assertThat(j.samples()).isEqualTo(4);
        assertThat(ControlNetJob.parse(tree(GOOD + ",\"validation\":1")).samples()).as("no more samples than held-out rows").isEqualTo(1);
        assertThat(ControlNetJob.parse(Json.mapper().readTree(j.toJson()))).as("the job travels as JSON unchanged").isEqualTo(j);
        ControlNetJob large = ControlNetJob.parse(tree(GOOD + ",\"steps\":100,\"learning_rate\":1e-3,\"unlock_decoder_at\":50"));
        assertThat(large.decoderLearningRate()).as("a tenth of the ControlNet's rate by default").isEqualTo(1e-4);
        assertThat(ControlNetJob.parse(Json.mapper().readTree(large.toJson()))).isEqualTo(large);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "missing name         | \"base\":\"b\",\"dataset\":\"d\",\"condition\":\"canny\"                    | name             | is required",
            "name with a slash    | \"name\":\"a/b\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"canny\"     | name             | letters, digits",
            "missing dataset      | \"name\":\"n\",\"base\":\"b\",\"condition\":\"canny\"                       | dataset          | is required",
            "number for base      | \"name\":\"n\",\"base\":3,\"dataset\":\"d\",\"condition\":\"canny\"          | base             | non-empty string",
            "unknown field        | " + "\"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"step\":5 | step | unknown field",
            "steps as a string    | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"steps\":\"9\" | steps | (a string)",
            "zero batch           | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"batch\":0   | batch            | from 1",
            "fractional steps     | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"steps\":2.5 | steps            | whole number",
            "learning rate zero   | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"learning_rate\":0 | learning_rate | from",
            "caption rate above 1 | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"empty_caption_rate\":1.5 | empty_caption_rate | from 0",
            "ema of 1             | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"ema_decay\":1 | ema_decay       | from 0",
            "unknown links        | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"links\":\"some\" | links          | all or small-scale",
            "small-scale, no step | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"links\":\"small-scale\" | reconnect_at | needs the step",
            "reconnect past steps | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"links\":\"small-scale\",\"steps\":10,\"reconnect_at\":10 | reconnect_at | 1 to steps - 1",
            "reconnect, all links | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"reconnect_at\":10 | reconnect_at | only small-scale",
            "checkpoint every 0   | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"checkpoint_every\":0 | checkpoint_every | from 1",
            "samples off-checkpoint | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"checkpoint_every\":100,\"sample_every\":150 | sample_every | multiple of checkpoint_every (100)",
            "more samples than held out | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"validation\":2,\"samples\":3 | samples | raise validation",
            "unlock at the end    | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"steps\":10,\"unlock_decoder_at\":10 | unlock_decoder_at | before the last step",
            "decoder rate, locked | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"decoder_learning_rate\":1e-5 | decoder_learning_rate | set unlock_decoder_at",
            "ema with unlock      | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"steps\":10,\"unlock_decoder_at\":5,\"ema_decay\":0.99 | ema_decay | cannot be used",
            "sample steps 0       | \"name\":\"n\",\"base\":\"b\",\"dataset\":\"d\",\"condition\":\"c\",\"sample_steps\":0 | sample_steps | from 1",
    })
    void aBadFieldIsRefusedByName(String why, String fields, String field, String message) throws Exception {
        InvalidTrainingJobException e = catchThrowableOfType(InvalidTrainingJobException.class, () -> ControlNetJob.parse(tree(fields)));
        assertThat(e).as(why).isNotNull();
        assertThat(e.problems()).as(why).anySatisfy(p -> {
            assertThat(p.field()).isEqualTo(field);
            assertThat(p.message()).contains(message);
        });
    }

    @Test
    void everyBadFieldIsReportedAtOnce() throws Exception {
        InvalidTrainingJobException e = catchThrowableOfType(InvalidTrainingJobException.class,
                () -> ControlNetJob.parse(tree("\"batch\":-1,\"seed\":\"x\"")));
        assertThat(e.problems()).extracting(InvalidTrainingJobException.Problem::field)
                .containsExactlyInAnyOrder("name", "base", "dataset", "condition", "batch", "seed");
        assertThat(e.getMessage()).contains("6 bad field(s)");
    }
}
