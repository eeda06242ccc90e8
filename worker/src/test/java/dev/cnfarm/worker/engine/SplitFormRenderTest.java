package dev.cnfarm.worker.engine;

import static dev.cnfarm.worker.testing.FloatArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.common.config.SessionSettings;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.GeneratedBundles;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.interop.DiffusersOnnxExport;
import dev.cnfarm.models.interop.SplitControlNet;
import dev.cnfarm.models.onnx.GraphBuilder.Storage;
import dev.cnfarm.models.weights.RandomWeights;
import dev.cnfarm.worker.render.ItemResult;
import dev.cnfarm.worker.render.RenderOutput;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.StepListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A diffusers folder in the split ControlNet form (a UNet taking residuals, and two ControlNet
 * folders) rendered by the engine: the same image as the bundle's merged graph, and each
 * ControlNet is run only on the steps of its window and only when the job uses it.
 */
class SplitFormRenderTest {
    private static final SessionSettings SESSIONS = new SessionSettings(2, "all", true);

    @TempDir
    Path dir;

    @Test
    void eachControlNetRunsOnlyWhenTheJobUsesItAndTheImageMatchesTheMergedGraph() throws Exception {
        ModelBundle tiny = GeneratedBundles.tiny(dir.resolve("models"));
        Path folder = dir.resolve("split-model");
        DiffusersOnnxExport.export(tiny, folder, DiffusersOnnxExport.Options.defaults());
        Path split = dir.resolve("split");
        SplitControlNet.build(split, ModelPreset.tiny(), new RandomWeights(GeneratedBundles.SEED, false), Storage.FP32, false);
        Files.copy(split.resolve("unet/model.onnx"), folder.resolve("unet/model.onnx"), StandardCopyOption.REPLACE_EXISTING);
        for (String slot : List.of("controlnet", "controlnet_second")) {
            Files.createDirectories(folder.resolve(slot));
            Files.copy(split.resolve("controlnet/model.onnx"), folder.resolve(slot).resolve("model.onnx"));
        }
        float[] control = new float[3 * 64 * 64];
        Random r = new Random(3);
        for (int i = 0; i < control.length; i++) {
            control[i] = r.nextFloat() < 0.1f ? 1f : 0f;
        }
        ControlUnit firstHalf = new ControlUnit(control, 1f, 0f, 0.5f, ControlMode.BALANCED);
        RenderRequest one = new RenderRequest("a cosy cottage", "blurry", List.of(firstHalf), false, 7, 4, 64, 64, 7.5f, "ddim", 0f);

        // a second size whose first steps are outside the window: zero residuals before any ControlNet has run at that size
        float[] small = new float[3 * 32 * 32];
        System.arraycopy(control, 0, small, 0, small.length);
        RenderRequest lateWindow = new RenderRequest("a cosy cottage", "blurry",
                List.of(new ControlUnit(small, 1f, 0.5f, 1f, ControlMode.BALANCED)), false, 7, 4, 32, 32, 7.5f, "ddim", 0f);
        RenderOutput merged;
        RenderOutput mergedLate;
        try (SdRenderer native_ = new SdRenderer(tiny, ExecutionProviders.cpu(), SESSIONS, 4)) {
            merged = native_.render(one, StepListener.NONE);
            mergedLate = native_.render(lateWindow, StepListener.NONE);
        }
        SdModel model = SdModel.open(folder);
        assertThat(model.splitControlnets()).extracting(c -> c.name()).containsExactly("controlnet", "controlnet_second");
        assertThat(model.controlSlots()).isEqualTo(2);
        assertThat(model.describe()).contains("split ControlNets [controlnet, controlnet_second]");
        try (SdRenderer renderer = new SdRenderer(model, ExecutionProviders.cpu(), SESSIONS, 4)) {
            RenderOutput a = renderer.render(one, StepListener.NONE);
            assertThat(a.controlledSteps()).isEqualTo(2);
            assertThat(renderer.splitControlNetRuns()).as("the first ControlNet on the 2 steps of its window, the second never").isEqualTo(2);
            assertThat(maxAbsDiff(a.rgb(), merged.rgb())).as("against the bundle's merged graph").isLessThan(1e-3);

            // the second slot given at scale 0 is not run, and changes nothing
            ControlUnit silent = new ControlUnit(control, 0f, 0f, 1f, ControlMode.BALANCED);
            RenderOutput b = renderer.render(new RenderRequest("a cosy cottage", "blurry", List.of(firstHalf, silent), false, 7, 4, 64, 64,
                    7.5f, "ddim", 0f), StepListener.NONE);
            assertThat(renderer.splitControlNetRuns()).isEqualTo(4);
            assertThat(b.rgb()).isEqualTo(a.rgb());

            // both used: the second runs on all 4 steps, and the image changes
            ControlUnit second = new ControlUnit(control, 0.8f, 0f, 1f, ControlMode.BALANCED);
            RenderOutput c = renderer.render(new RenderRequest("a cosy cottage", "blurry", List.of(firstHalf, second), false, 7, 4, 64, 64,
                    7.5f, "ddim", 0f), StepListener.NONE);
            assertThat(renderer.splitControlNetRuns()).isEqualTo(4 + 2 + 4);
            assertThat(c.controlledSteps()).isEqualTo(4);
            assertThat(maxAbsDiff(c.rgb(), a.rgb())).isGreaterThan(1e-3);

            // a batch of the one-ControlNet request and the two-ControlNet one (another seed): each image as it comes alone
            RenderRequest both = new RenderRequest("a lighthouse", "", List.of(firstHalf, second), false, 8, 4, 64, 64, 5f, "ddim", 0f);
            List<ItemResult> batch = renderer.renderBatch(List.of(one, both), List.of(StepListener.NONE, StepListener.NONE));
            assertThat(batch.get(0).orThrow().batchSize()).isEqualTo(2);
            assertThat(batch.get(0).orThrow().rgb()).isEqualTo(a.rgb());
            assertThat(batch.get(1).orThrow().rgb()).isEqualTo(renderer.render(both, StepListener.NONE).rgb());

            RenderOutput late = renderer.render(lateWindow, StepListener.NONE);
            assertThat(late.controlledSteps()).isEqualTo(2);
            assertThat(maxAbsDiff(late.rgb(), mergedLate.rgb())).as("zero residuals stand for the plain UNet").isLessThan(1e-3);
        }
    }
}
