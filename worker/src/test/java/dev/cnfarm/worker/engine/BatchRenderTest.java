package dev.cnfarm.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.common.config.SessionSettings;
import dev.cnfarm.models.bundle.GeneratedBundles;
import dev.cnfarm.worker.render.BadInputException;
import dev.cnfarm.worker.render.ItemResult;
import dev.cnfarm.worker.render.RenderOutput;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.StepListener;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Micro-batches on the tiny bundle: several requests through one UNet run per step give each
 * image exactly as it comes alone, and one item's end does not end the others.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchRenderTest {
    @TempDir
    static Path models;

    private SdRenderer renderer;

    @BeforeAll
    void load() {
        renderer = new SdRenderer(GeneratedBundles.tiny(models), ExecutionProviders.cpu(), new SessionSettings(2, "all", true), 16);
    }

    @AfterAll
    void close() {
        renderer.close();
    }

    private static float[] control(int seed, int side) {
        float[] c = new float[3 * side * side];
        Random r = new Random(seed);
        for (int i = 0; i < c.length; i++) {
            c[i] = r.nextFloat() < 0.1f ? 1f : 0f;
        }
        return c;
    }

    /** Three requests that differ in everything a batch lets them differ in. */
    private List<RenderRequest> mixed(String scheduler) {
        return List.of(
                new RenderRequest("a cosy cottage", "blurry", List.of(new ControlUnit(control(1, 64), 1f, 0f, 0.5f, ControlMode.BALANCED)),
                        false, 11, 6, 64, 64, 7.5f, scheduler, 0f),
                new RenderRequest("a lighthouse at dusk", "", List.of(new ControlUnit(control(2, 64), 0.6f, 0f, 0.5f, ControlMode.PROMPT)),
                        false, 12, 6, 64, 64, 4f, scheduler, 0f),
                new RenderRequest("a red fox", "text, watermark", List.of(new ControlUnit(control(3, 64), 1.2f, 0f, 0.5f, ControlMode.CONTROL)),
                        true, 13, 6, 64, 64, 9f, scheduler, 0f));
    }

    private static List<StepListener> none(int n) {
        return Collections.nCopies(n, StepListener.NONE);
    }

    @Test
    void eachImageOfABatchIsTheImageItGivesAloneToTheBit() {
        for (String scheduler : List.of("euler_a", "dpmpp_2m", "unipc")) {
            List<RenderRequest> reqs = mixed(scheduler);
            long runs = renderer.modelRuns();
            List<ItemResult> batch = renderer.renderBatch(reqs, none(3));
            assertThat(renderer.modelRuns() - runs).as("one UNet run per step for all three").isEqualTo(6);
            for (int i = 0; i < reqs.size(); i++) {
                RenderOutput together = batch.get(i).orThrow();
                RenderOutput alone = renderer.render(reqs.get(i), StepListener.NONE);
                assertThat(together.batchSize()).isEqualTo(3);
                assertThat(alone.batchSize()).isEqualTo(1);
                assertThat(together.rgb()).as(scheduler + " item " + i).isEqualTo(alone.rgb());
                assertThat(together.controlledSteps()).isEqualTo(3).isEqualTo(alone.controlledSteps());
            }
        }
    }

    @Test
    void requestsThatCannotShareARunGoInRunsOfTheirOwn() {
        RenderRequest a = mixed("euler").get(0);
        RenderRequest other = new RenderRequest("a barn", "", List.of(new ControlUnit(control(4, 48), 1f, 0f, 1f, ControlMode.BALANCED)),
                false, 5, 6, 48, 48, 7.5f, "euler", 0f);
        RenderRequest noGuidance = new RenderRequest("a barn", "", List.of(), false, 5, 6, 64, 64, 1f, "euler", 0f);
        RenderRequest b = mixed("euler").get(1);
        long runs = renderer.modelRuns();
        List<ItemResult> out = renderer.renderBatch(List.of(a, other, noGuidance, b), none(4));
        assertThat(renderer.modelRuns() - runs).as("three runs of 6 steps").isEqualTo(18);
        assertThat(out.stream().map(r -> r.orThrow().batchSize()).toList()).containsExactly(2, 1, 1, 2);
        assertThat(out.get(1).orThrow().rgb()).isEqualTo(renderer.render(other, StepListener.NONE).rgb());
        assertThat(out.get(3).orThrow().rgb()).isEqualTo(renderer.render(b, StepListener.NONE).rgb());
    }

    @Test
    void anItemStoppedByItsListenerEndsAloneAndTheOthersFinishUnchanged() {
        List<RenderRequest> reqs = mixed("euler_a");
        RuntimeException cancel = new RuntimeException("job was cancelled");
        int[] stepsSeen = new int[1];
        StepListener stopsAtTwo = (step, total, preview) -> {
            stepsSeen[0] = step;
            if (step == 2) {
                throw cancel;
            }
        };
        List<ItemResult> out = renderer.renderBatch(reqs, List.of(StepListener.NONE, stopsAtTwo, StepListener.NONE));
        assertThat(out.get(1)).isEqualTo(new ItemResult.Failed(cancel));
        assertThat(stepsSeen[0]).as("not told of steps after it stopped").isEqualTo(2);
        assertThat(out.get(0).orThrow().rgb()).isEqualTo(renderer.render(reqs.get(0), StepListener.NONE).rgb());
        assertThat(out.get(2).orThrow().rgb()).isEqualTo(renderer.render(reqs.get(2), StepListener.NONE).rgb());
    }

    @Test
    void aBadItemFailsAloneNamingItsProblem() {
        List<RenderRequest> reqs = mixed("euler");
        RenderRequest wrongSize = new RenderRequest("x", "", List.of(new ControlUnit(control(5, 32), 1f, 0f, 1f, ControlMode.BALANCED)),
                false, 1, 6, 64, 64, 5f, "euler", 0f);
        List<ItemResult> out = renderer.renderBatch(List.of(reqs.get(0), wrongSize, reqs.get(1)), none(3));
        assertThat(out.get(1)).isInstanceOf(ItemResult.Failed.class);
        assertThat(((ItemResult.Failed) out.get(1)).reason()).isInstanceOf(BadInputException.class).hasMessageContaining("is not 64x64");
        assertThat(out.get(0).orThrow().batchSize()).isEqualTo(2);
        assertThat(out.get(2).orThrow().rgb()).isEqualTo(renderer.render(reqs.get(1), StepListener.NONE).rgb());
    }

    @Test
    void previewsAreEachItemsOwn() {
        List<RenderRequest> reqs = mixed("euler");
        byte[][] last = new byte[3][];
        List<StepListener> listeners = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int item = i;
            listeners.add(new StepListener() {
                @Override
                public void onStep(int step, int total, byte[] preview) {
                    if (preview != null) {
                        last[item] = preview;
                    }
                }

                @Override
                public boolean wantsPreview(int step, int total) {
                    return step == 3;
                }
            });
        }
        renderer.renderBatch(reqs, listeners);
        assertThat(last[0]).isNotNull();
        assertThat(last[2]).isNotNull();
        assertThat(last[0]).isNotEqualTo(last[1]);
        assertThat(last[1]).isNotEqualTo(last[2]);
    }
}
