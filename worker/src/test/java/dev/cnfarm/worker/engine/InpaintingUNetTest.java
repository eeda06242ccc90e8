package dev.cnfarm.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.worker.engine.noise.NoiseKind;
import dev.cnfarm.worker.render.InitImage;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.StepListener;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bundle with an inpainting UNet (9 input channels: latent, mask, masked image's latent): the
 * model kit builds it, with its ControlNet fed the noisy latent alone, and the engine feeds it the
 * mask and the masked image; the pixels outside the mask are the init image's, exactly.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InpaintingUNetTest {
    private static final int SIZE = 64;

    @TempDir
    static Path dir;

    private SdRenderer renderer;
    private float[] init;
    private float[] control;

    @BeforeAll
    void build() {
        ModelPreset preset = ModelPreset.tiny().inpainting();
        ModelBundle bundle = BundleBuilder.build(dir.resolve("inpaint"), new BundleBuilder.Options("inpaint", preset, 1, Storage.FP32, false),
                new RandomWeights(3, false), "random", (done, total, graph) -> { });
        renderer = new SdRenderer(bundle, ExecutionProviders.cpu(), new dev.cnfarm.common.config.SessionSettings(2, "all", true), 4);
        init = new float[3 * SIZE * SIZE];
        control = new float[3 * SIZE * SIZE];
        for (int i = 0; i < init.length; i++) {
            init[i] = ((i / 7) % 5) / 4f;
            control[i] = (i % 9 == 0) ? 1f : 0f;
        }
    }

    @AfterAll
    void close() {
        renderer.close();
    }

    private float[] render(List<ControlUnit> controls, InitImage img) {
        return renderer.render(new RenderRequest("a blue square", "", controls, false, 5, 4, SIZE, SIZE, 7.5f, "euler", 0f, NoiseKind.FARM, img),
                StepListener.NONE).rgb();
    }

    private static float[] half(boolean left) {
        float[] m = new float[SIZE * SIZE];
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                m[y * SIZE + x] = (x < SIZE / 2) == left ? 1f : 0f;
            }
        }
        return m;
    }

    @Test
    void theModelKnowsItsNineChannelsAndRendersTextToImageAndWithAControlNet() {
        assertThat(renderer.model().unetInChannels()).isEqualTo(9);
        float[] plain = render(List.of(), null);
        float[] controlled = render(List.of(new ControlUnit(control, 1f, 0f, 1f, ControlMode.BALANCED)), null);
        assertThat(plain).hasSize(3 * SIZE * SIZE);
        assertThat(controlled).as("the ControlNet, fed the latent's 4 channels, steers the image").isNotEqualTo(plain);
    }

    @Test
    void theMaskReachesTheUNetAndThePixelsOutsideItAreKept() {
        float[] left = half(true);
        float[] rgb = render(List.of(), new InitImage(init, 1f, left));
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < SIZE; y++) {
                for (int x = SIZE / 2; x < SIZE; x++) {
                    int k = c * SIZE * SIZE + y * SIZE + x;
                    assertThat(rgb[k]).as("kept pixel %d,%d", x, y).isEqualTo(init[k]);
                }
            }
        }
        // the same noise and prompt with everything masked: the left half, repainted both times, differs, since the UNet sees
        // the mask and the masked image (no latent is blended back for an inpainting UNet)
        float[] all = new float[SIZE * SIZE];
        java.util.Arrays.fill(all, 1f);
        float[] right = render(List.of(), new InitImage(init, 1f, all));
        int differing = 0;
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < SIZE; y++) {
                for (int x = 0; x < SIZE / 2; x++) {
                    int k = c * SIZE * SIZE + y * SIZE + x;
                    differing += rgb[k] != right[k] ? 1 : 0;
                }
            }
        }
        assertThat(differing).isGreaterThan(3 * SIZE * SIZE / 4);
    }
}
