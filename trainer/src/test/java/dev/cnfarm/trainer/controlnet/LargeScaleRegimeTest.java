package dev.cnfarm.trainer.controlnet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.weights.SafetensorsFile;
import dev.cnfarm.trainer.base.BaseTraining;
import dev.cnfarm.trainer.data.ShapesDataset;
import dev.cnfarm.trainer.train.Checkpoint;
import dev.cnfarm.trainer.train.TrainingListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The paper's large-scale regime: the base stays locked until the unlock step, then the UNet's
 * decoder (up blocks, output stage) trains with the ControlNet at its own rate; the encoder, middle
 * block, text encoder and VAE stay the base's to the bit. A run resumed past the unlock step picks
 * the decoder's weights and optimiser up from the checkpoint.
 */
class LargeScaleRegimeTest {
    @TempDir
    Path dir;

    @Test
    void theDecoderJoinsAtItsStepTheRestOfTheBaseStaysLockedAndAResumeCarriesIt() throws Exception {
        Path base = BaseTraining.randomModel(dir.resolve("base"), ModelPreset.tiny(), 3);
        Path manifest = ShapesDataset.write(dir.resolve("data"), 10, 64, 5, ShapesDataset.Split.TRAIN, (d, t) -> { });
        Path work = dir.resolve("work");
        List<String> notes = new ArrayList<>();
        TrainingListener log = new TrainingListener() {
            @Override
            public void note(String message) {
                notes.add(message);
            }
        };

        ControlNetRun.run(config(manifest, base, work, 4), log);
        assertThat(notes).anyMatch(n -> n.contains("from step 2") && n.contains("more parameters train"));
        try (SafetensorsFile f = SafetensorsFile.open(work.resolve(ControlNetRun.SNAPSHOTS).resolve("step-000002.safetensors"))) {
            assertThat(f.tensors().keySet()).as("at step 2 the decoder has not trained yet").allMatch(k -> k.startsWith("controlnet0."));
        }
        try (SafetensorsFile f = SafetensorsFile.open(work.resolve(ControlNetRun.SNAPSHOTS).resolve("step-000004.safetensors"))) {
            assertThat(f.tensors().keySet()).contains("unet.up_blocks.0.resnets.0.conv1.weight", "unet.conv_out.weight")
                    .noneMatch(k -> k.startsWith("unet.down_blocks.") || k.startsWith("unet.mid_block."));
        }
        assertThat(Checkpoint.resolve(ControlNetRun.checkpointDir(work)).resolve(Checkpoint.JOINED_OPTIMIZER)).isRegularFile();

        // the published UNet: the decoder trained, everything else the base's to the bit
        Path model = work.resolve("model");
        try (SafetensorsFile trained = SafetensorsFile.open(model.resolve("unet.safetensors"));
             SafetensorsFile locked = SafetensorsFile.open(base.resolve("unet.safetensors"))) {
            assertThat(trained.tensors().keySet()).isEqualTo(locked.tensors().keySet());
            int changed = 0;
            for (String key : locked.tensors().keySet()) {
                boolean decoder = key.startsWith("up_blocks.") || key.startsWith("conv_norm_out.") || key.startsWith("conv_out.");
                boolean same = java.util.Arrays.equals(trained.readFloats(key), locked.readFloats(key));
                if (!decoder) {
                    assertThat(same).as("%s is not the decoder's and stays locked", key).isTrue();
                } else if (!same) {
                    changed++;
                }
            }
            assertThat(changed).as("decoder tensors that trained").isGreaterThan(10);
        }
        for (String file : List.of("text_encoder.safetensors", "vae.safetensors")) {
            assertThat(Files.readAllBytes(model.resolve(file))).as(file).isEqualTo(Files.readAllBytes(base.resolve(file)));
        }

        // resumed past the unlock step: the decoder's weights and optimiser come back from the checkpoint
        notes.clear();
        ControlNetRun.run(config(manifest, base, work, 6), log);
        assertThat(notes).anyMatch(n -> n.contains("resumed from the checkpoint at step 4"));
        assertThat(Checkpoint.readState(ControlNetRun.checkpointDir(work)).losses()).hasSize(6);
    }

    private static ControlNetRun.Config config(Path manifest, Path base, Path work, int steps) {
        return new ControlNetRun.Config(manifest, "conditioning_image", base, work, "canny", "tiny-canny", 1,
                new ControlNetTraining.Settings(steps, 2, 1, 1e-3, 1, 0.5, 0.1, ControlNetTraining.Links.ALL, 0,
                        ControlNetTraining.Timesteps.UNIFORM, 0, 7, 2, 2, 1e-3),
                ControlNetRun.SampleSettings.NONE);
    }
}
