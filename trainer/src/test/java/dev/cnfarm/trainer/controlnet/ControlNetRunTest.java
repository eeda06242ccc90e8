package dev.cnfarm.trainer.controlnet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.bundle.TrainedModels;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.models.weights.SafetensorsFile;
import dev.cnfarm.trainer.base.BaseTraining;
import dev.cnfarm.trainer.base.DiffusionTraining;
import dev.cnfarm.trainer.base.ShapesPreset;
import dev.cnfarm.trainer.base.VaeTraining;
import dev.cnfarm.trainer.data.ShapesDataset;
import dev.cnfarm.trainer.train.Checkpoint;
import dev.cnfarm.trainer.train.TrainingListener;
import dev.cnfarm.trainer.torch.ParameterStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole ControlNet run at the tiny size on generated shapes data with one damaged row: the row is
 * skipped and counted, checkpoints and snapshots are written, the result is a diffusers-named
 * ControlNet, a model folder whose base files are the base's own bytes (the base stayed locked) and
 * a bundle whose ControlNet slot carries the condition's name; running again with more steps
 * resumes from the last checkpoint.
 */
class ControlNetRunTest {
    private static final ModelPreset TINY = ModelPreset.tiny();

    @TempDir
    Path dir;

    @Test
    void trainsSkipsTheDamagedRowPublishesAndResumes() throws Exception {
        Path base = tinyBase(dir.resolve("base"));
        Path manifest = ShapesDataset.write(dir.resolve("data"), 14, 64, 5, ShapesDataset.Split.TRAIN, (d, t) -> { });
        Path data = manifest.getParent();
        Files.write(data.resolve("images/broken.png"), new byte[] {1, 2, 3, 4});
        Files.writeString(manifest, "images/broken.png,canny/000000.png,scribble/000000.png,a red circle on a blue background,circle,red,blue\n",
                java.nio.file.StandardOpenOption.APPEND);

        Path work = dir.resolve("work");
        List<String> notes = new ArrayList<>();
        TrainingListener log = new TrainingListener() {
            @Override
            public void note(String message) {
                notes.add(message);
            }
        };
        ControlNetRun.Summary s = ControlNetRun.run(config(manifest, base, work, 4), log);

        assertThat(s.skippedRows()).isEqualTo(1);
        assertThat(notes).anyMatch(n -> n.contains("skipped 1 rows") && n.contains("broken.png"));
        assertThat(s.trainRows()).as("14 good rows, one kept out").isEqualTo(13);
        assertThat(work.resolve(ControlNetRun.SNAPSHOTS).resolve("step-000002.safetensors")).isRegularFile();
        assertThat(work.resolve(ControlNetRun.SNAPSHOTS).resolve("step-000004.safetensors")).isRegularFile();
        assertThat(Checkpoint.readState(work.resolve("checkpoints/controlnet")).step()).isEqualTo(4);
        // a sample grid at each sample interval: the held-out row rendered by the engine the farm serves, scored
        assertThat(s.samples()).extracting(g -> g.step()).containsExactly(2L, 4L);
        for (var g : s.samples()) {
            assertThat(g.edgeF1()).isBetween(0.0, 1.0);
            assertThat(g.baselineEdgeF1()).as("the base alone, rendered once").isEqualTo(s.samples().get(0).baselineEdgeF1());
            java.awt.image.BufferedImage grid = javax.imageio.ImageIO.read(g.grid().toFile());
            assertThat(grid.getWidth()).as("control | sample | image, 96 px each").isGreaterThanOrEqualTo(3 * 96);
        }
        assertThat(work.resolve(ControlNetRun.FIDELITY_CHART)).isRegularFile();
        assertThat(notes).anyMatch(n -> n.startsWith("samples at step 4: edge F1"));

        try (SafetensorsFile f = SafetensorsFile.open(work.resolve(ControlNetRun.CONTROLNET_FILE))) {
            assertThat(f.tensors()).containsKeys("controlnet_cond_embedding.conv_in.weight", "controlnet_cond_embedding.conv_out.weight",
                    "controlnet_down_blocks.0.weight", "controlnet_mid_block.weight", "down_blocks.0.resnets.0.conv1.weight", "conv_in.weight");
            assertThat(f.tensors().values()).allSatisfy(t -> assertThat(t.dtype()).isEqualTo("F16"));
            assertThat(f.metadata()).containsEntry("condition", "canny");
            // the zero convolutions have left zero: the ControlNet learned something
            float[] mid = f.readFloats("controlnet_mid_block.weight");
            assertThat(maxAbs(mid)).isGreaterThan(0);
        }
        Path model = work.resolve("model");
        for (String file : List.of("unet.safetensors", "text_encoder.safetensors", "vae.safetensors", "model.json")) {
            assertThat(Files.readAllBytes(model.resolve(file))).as("the locked base's %s", file).isEqualTo(Files.readAllBytes(base.resolve(file)));
        }
        assertThat(TrainedModels.controlnetNames(model)).containsExactly("canny");
        ModelBundle bundle = ModelBundle.open(work.resolve("bundle"));
        assertThat(bundle.manifest().controlnets()).isEqualTo(1);
        assertThat(bundle.manifest().slotNames()).containsExactly("canny");
        assertThat(bundle.manifest().id()).isEqualTo("tiny-canny");

        assertThat(Parity.controlledUNetError(model, bundle, 8)).as("bundle's controlled UNet against libtorch").isLessThan(1e-4);

        // more steps: the run resumes at step 4 and its loss history goes on from there
        notes.clear();
        ControlNetRun.Summary more = ControlNetRun.run(config(manifest, base, work, 6), log);
        assertThat(notes).anyMatch(n -> n.contains("resumed from the checkpoint at step 4"));
        assertThat(Checkpoint.readState(work.resolve("checkpoints/controlnet")).losses()).hasSize(6);
        assertThat(more.steps()).isEqualTo(6);
        assertThat(more.samples()).as("the history came back with the checkpoint").extracting(g -> g.step()).containsExactly(2L, 4L, 6L);
    }

    private static ControlNetRun.Config config(Path manifest, Path base, Path work, int steps) {
        return new ControlNetRun.Config(manifest, "conditioning_image", base, work, "canny", "tiny-canny", 1,
                new ControlNetTraining.Settings(steps, 2, 1, 1e-3, 1, 0.5, 0.1, ControlNetTraining.Links.ALL, 0, ControlNetTraining.Timesteps.UNIFORM, 0, 7, 2),
                new ControlNetRun.SampleSettings(2, 1, 2));
    }

    /** A base model folder of the tiny preset with random weights (what farm train base would write). */
    private static Path tinyBase(Path folder) {
        return BaseTraining.randomModel(folder, TINY, 3);
    }

    private static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
