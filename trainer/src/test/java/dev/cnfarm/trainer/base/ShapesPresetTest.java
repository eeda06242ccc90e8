package dev.cnfarm.trainer.base;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.models.tokenizer.ClipVocabulary;
import dev.cnfarm.trainer.data.NamedColour;
import dev.cnfarm.trainer.data.ShapeKind;
import dev.cnfarm.trainer.data.ShapeScene;
import dev.cnfarm.worker.engine.text.ClipTokenizer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shapes model's tokenizer makes every caption word one token, with a small id space. */
class ShapesPresetTest {
    @TempDir
    Path dir;

    @Test
    void everyCaptionWordIsOneTokenThroughTheWorkersTokenizer() {
        ClipVocabulary v = ShapesPreset.vocabulary();
        v.write(dir);
        assertThat(v.size()).isLessThan(1000).isEqualTo(ShapesPreset.textEncoder().vocabSize());
        try (ClipTokenizer t = ClipTokenizer.open(dir)) {
            for (NamedColour c : NamedColour.values()) {
                for (ShapeKind k : ShapeKind.values()) {
                    String caption = ShapeScene.caption(k, c, c == NamedColour.RED ? NamedColour.BLUE : NamedColour.RED);
                    assertThat(t.contentLength(caption)).as(caption).isEqualTo(caption.split(" ").length);
                }
            }
            long[] ids = t.encode("a red circle on a blue background");
            assertThat(ids[0]).isEqualTo(v.size() - 2);
            assertThat(ids[8]).as("end of text, the largest id").isEqualTo(v.size() - 1);
            assertThat(ids[76]).isEqualTo(v.size() - 1);
            assertThat(ids[2]).isNotEqualTo(ids[6]);
        }
    }
}
