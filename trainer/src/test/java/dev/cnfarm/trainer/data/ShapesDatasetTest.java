package dev.cnfarm.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generated data set: files, manifest, captions, splits, control maps, determinism. */
class ShapesDatasetTest {
    @TempDir
    Path dir;

    @Test
    void writesImagesControlMapsAndAManifestTrainingReads() throws Exception {
        Path manifest = ShapesDataset.write(dir.resolve("a"), 40, 64, 7, ShapesDataset.Split.TRAIN, (d, t) -> { });
        List<String> lines = Files.readAllLines(manifest);
        assertThat(lines.get(0)).isEqualTo(String.join(",", ShapesDataset.COLUMNS));
        assertThat(lines).hasSize(41);
        TrainingManifest m = TrainingManifest.read(manifest);
        assertThat(m.rows()).hasSize(40);
        for (String[] row : ShapesDataset.rows(manifest)) {
            ShapeKind k = ShapeKind.ofWord(row[4]);
            NamedColour c = NamedColour.ofWord(row[5]);
            NamedColour bg = NamedColour.ofWord(row[6]);
            assertThat(row[3]).isEqualTo(ShapeScene.caption(k, c, bg));
            assertThat(bg).isNotEqualTo(c);
            assertThat(HeldOutPairs.heldOut(c, k)).as("the train split has no held-out pair").isFalse();
            Images.Rgb img = Images.decode(Files.readAllBytes(manifest.getParent().resolve(row[0])));
            assertThat(img.width()).isEqualTo(64);
            // the picture shows what its row says
            ShapeClassifier.Verdict v = ShapeClassifier.classify(img.pixels(), 64);
            assertThat(v.background()).isEqualTo(bg);
            assertThat(v.shapeColour()).isEqualTo(c);
            // the Canny map is white edges on black: some edge pixels, mostly black
            int[] canny = Images.decode(Files.readAllBytes(manifest.getParent().resolve(row[1]))).pixels();
            long white = java.util.Arrays.stream(canny).filter(p -> (p & 0xff) > 128).count();
            assertThat(white).isBetween(10L, (long) canny.length / 4);
            int[] scribble = Images.decode(Files.readAllBytes(manifest.getParent().resolve(row[2]))).pixels();
            assertThat(java.util.Arrays.stream(scribble).filter(p -> (p & 0xff) > 128).count()).isBetween(10L, (long) canny.length / 3);
        }
        assertThat(Files.readString(manifest.getParent().resolve("dataset.json"))).contains("\"held_out_pairs\"", "\"palette\"");
    }

    @Test
    void theSameSeedGivesTheSameFilesAndSplitsAreHonoured() throws Exception {
        Path a = ShapesDataset.write(dir.resolve("a"), 10, 64, 3, ShapesDataset.Split.ALL, (d, t) -> { });
        Path b = ShapesDataset.write(dir.resolve("b"), 10, 64, 3, ShapesDataset.Split.ALL, (d, t) -> { });
        assertThat(Files.readString(a)).isEqualTo(Files.readString(b));
        assertThat(Files.readAllBytes(a.getParent().resolve("images/000007.png")))
                .isEqualTo(Files.readAllBytes(b.getParent().resolve("images/000007.png")));
        Path held = ShapesDataset.write(dir.resolve("h"), 30, 64, 3, ShapesDataset.Split.HELD_OUT, (d, t) -> { });
        for (String[] row : ShapesDataset.rows(held)) {
            assertThat(HeldOutPairs.heldOut(NamedColour.ofWord(row[5]), ShapeKind.ofWord(row[4]))).isTrue();
        }
        assertThat(HeldOutPairs.describe()).hasSize(10);
    }

    @Test
    void badSettingsAreRefusedNamingTheSetting() {
        assertThatThrownBy(() -> ShapesDataset.write(dir, 0, 64, 1, ShapesDataset.Split.ALL, (d, t) -> { })).hasMessageContaining("count");
        assertThatThrownBy(() -> ShapesDataset.write(dir, 5, 100, 1, ShapesDataset.Split.ALL, (d, t) -> { })).hasMessageContaining("size");
    }

    @Test
    void aManifestWithoutTheTrainingColumnsIsRefused() throws Exception {
        Path m = dir.resolve("m.csv");
        Files.writeString(m, "prompt,control_image\na,b.png\n");
        assertThatThrownBy(() -> TrainingManifest.read(m)).hasMessageContaining("image and text");
        Files.writeString(m, "image,text\nmissing.png,a red circle\n");
        assertThatThrownBy(() -> TrainingManifest.read(m)).hasMessageContaining("line 2").hasMessageContaining("does not exist");
        Files.writeString(m, "image,text\n");
        assertThatThrownBy(() -> TrainingManifest.read(m)).hasMessageContaining("no rows");
    }
}
