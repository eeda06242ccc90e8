package dev.cnfarm.cli.eval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.trainer.data.HeldOutPairs;
import dev.cnfarm.trainer.data.ShapeClassifier;
import dev.cnfarm.trainer.data.ShapeScene;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The evaluation's captions, its job, its scoring and its contact sheet, without a farm. */
class TextEvaluationTest {
    @TempDir
    Path dir;

    @Test
    void captionsAreSeededAndAQuarterAreHeldOutPairs() {
        List<EvalCaptions.Case> a = EvalCaptions.draw(200, 1);
        assertThat(a).hasSize(200).isEqualTo(EvalCaptions.draw(200, 1));
        assertThat(a).isNotEqualTo(EvalCaptions.draw(200, 2));
        assertThat(a.stream().filter(EvalCaptions.Case::heldOut).count()).isEqualTo(50);
        assertThat(a).allSatisfy(c -> {
            assertThat(c.heldOut()).isEqualTo(HeldOutPairs.heldOut(c.colour(), c.kind()));
            assertThat(c.background()).isNotEqualTo(c.colour());
        });
    }

    @Test
    void theJobIsOneTextToImageRowPerCaption() throws Exception {
        List<EvalCaptions.Case> cases = EvalCaptions.draw(5, 3);
        JsonNode job = Json.mapper().readTree(TextEvaluation.job(
                new TextEvaluation.Settings("shapes", 5, 20, List.of(7.5f), "euler", 3, 128), cases, 7.5f));
        assertThat(job.path("model").asText()).isEqualTo("shapes");
        assertThat(job.path("rows")).hasSize(5);
        assertThat(job.path("rows").get(2).path("prompt").asText()).isEqualTo(cases.get(2).caption());
        assertThat(job.path("rows").get(2).has("control_image")).isFalse();
        assertThat(job.path("guidance_scale").floatValue()).isEqualTo(7.5f);
    }

    @Test
    void scoresCountWhatTheClassifierReadsAndTheSheetShowsEveryImage() throws Exception {
        List<EvalCaptions.Case> cases = EvalCaptions.draw(8, 5);
        List<TextEvaluation.Row> rows = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(1);
        for (EvalCaptions.Case c : cases) {
            // the first four drawn as asked, the others with the background and shape colours swapped
            boolean right = c.index() < 4;
            ShapeScene s = ShapeScene.random(c.kind(), right ? c.colour() : c.background(), right ? c.background() : c.colour(), 128, rnd);
            Path img = dir.resolve(c.index() + ".png");
            Files.write(img, dev.cnfarm.trainer.data.Images.png(s.render(), 128, 128));
            rows.add(new TextEvaluation.Row(c, ShapeClassifier.classify(s.render(), 128), img));
        }
        TextEvaluation.Score score = TextEvaluation.score(7.5f, rows, 1.5, "job-x");
        assertThat(score.background()).isEqualTo(0.5);
        assertThat(score.shapeColour()).isEqualTo(0.5);
        assertThat(score.shapeKind()).isEqualTo(1.0);
        assertThat(score.allThree()).isEqualTo(0.5);
        Path sheet = dir.resolve("sheet.png");
        ContactSheet.write(sheet, "title", rows.stream().map(r -> new ContactSheet.Cell(read(r.image()), r.c().caption(), "x", null))
                .toList(), 4, 96);
        BufferedImage png = ImageIO.read(sheet.toFile());
        assertThat(png.getWidth()).isGreaterThan(4 * 96);
        assertThat(png.getHeight()).isGreaterThan(2 * 96);
        assertThat(TextEvaluation.markdown(new TextEvaluation.Settings("shapes", 8, 20, List.of(7.5f), "euler", 5, 128), List.of(score)))
                .contains("| 7.5 | 0.500 | 0.500 | 1.000 | 0.500 |");
    }

    private static BufferedImage read(Path p) {
        try {
            return ImageIO.read(p.toFile());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
