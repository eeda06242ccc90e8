package dev.cnfarm.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.models.bundle.GeneratedBundles;
import dev.cnfarm.worker.engine.sched.SchedulerKind;
import dev.cnfarm.worker.output.PngEncoder;
import dev.cnfarm.worker.render.BadInputException;
import dev.cnfarm.worker.render.RenderOutput;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.StepListener;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** The sampling engine on the generated tiny bundle, in-process (no Kafka, no S3). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SdRendererTest {
    @TempDir
    static Path models;

    private SdRenderer renderer;
    private float[] control;

    @BeforeAll
    void load() {
        renderer = new SdRenderer(GeneratedBundles.tiny(models), ExecutionProviders.cpu(), new dev.cnfarm.common.config.SessionSettings(2, "all", true), 16);
        control = new float[3 * 64 * 64];
        Random r = new Random(3);
        for (int i = 0; i < control.length; i++) {
            control[i] = r.nextFloat() < 0.1f ? 1f : 0f;
        }
    }

    @AfterAll
    void close() {
        renderer.close();
    }

    private RenderRequest request(List<ControlUnit> controls, String scheduler, float guidance, int steps, long seed, boolean guess) {
        return new RenderRequest("a cosy cottage", "blurry", controls, guess, seed, steps, 64, 64, guidance, scheduler, 0f);
    }

    private ControlUnit unit(float scale, float start, float end, ControlMode mode) {
        return new ControlUnit(control, scale, start, end, mode);
    }

    @Test
    void sameRequestSameImageToTheBit() {
        RenderRequest req = request(List.of(unit(1, 0, 1, ControlMode.BALANCED)), "euler_a", 7.5f, 6, 11, false);
        RenderOutput a = renderer.render(req, StepListener.NONE);
        RenderOutput b = renderer.render(req, StepListener.NONE);
        assertThat(a.rgb()).hasSize(3 * 64 * 64);
        assertThat(a.rgb()).isEqualTo(b.rgb());
        assertThat(PngEncoder.encode(a.rgb(), 64, 64, "p")).isEqualTo(PngEncoder.encode(b.rgb(), 64, 64, "p"));
        RenderOutput other = renderer.render(request(List.of(unit(1, 0, 1, ControlMode.BALANCED)), "euler_a", 7.5f, 6, 12, false),
                StepListener.NONE);
        assertThat(other.rgb()).as("another seed, another image").isNotEqualTo(a.rgb());
        for (float v : a.rgb()) {
            assertThat(v).isBetween(0f, 1f);
        }
    }

    @Test
    void torchCpuAndCudaPhiloxNoiseAreTheirOwnStreamsAndAsRepeatable() {
        RenderRequest farm = request(List.of(unit(1, 0, 1, ControlMode.BALANCED)), "euler_a", 7.5f, 6, 11, false);
        RenderRequest torch = new RenderRequest(farm.prompt(), farm.negativePrompt(), farm.controls(), false, farm.seed(), farm.steps(),
                farm.width(), farm.height(), farm.guidanceScale(), farm.scheduler(), farm.eta(), dev.cnfarm.worker.engine.noise.NoiseKind.TORCH_CPU);
        float[] a = renderer.render(torch, StepListener.NONE).rgb();
        assertThat(renderer.render(torch, StepListener.NONE).rgb()).as("an ancestral sampler's draws repeat too").isEqualTo(a);
        assertThat(a).isNotEqualTo(renderer.render(farm, StepListener.NONE).rgb());
        RenderRequest philox = new RenderRequest(farm.prompt(), farm.negativePrompt(), farm.controls(), false, farm.seed(), farm.steps(),
                farm.width(), farm.height(), farm.guidanceScale(), farm.scheduler(), farm.eta(), dev.cnfarm.worker.engine.noise.NoiseKind.CUDA_PHILOX);
        float[] c = renderer.render(philox, StepListener.NONE).rgb();
        assertThat(renderer.render(philox, StepListener.NONE).rgb()).isEqualTo(c);
        assertThat(c).isNotEqualTo(a);
    }

    @Test
    void controlWindowDecidesWhichStepsRunControlNet() {
        int steps = 10;
        assertThat(renderer.render(request(List.of(unit(1, 0, 0.5f, ControlMode.BALANCED)), "euler", 5, steps, 1, false),
                StepListener.NONE).controlledSteps()).isEqualTo(5);
        assertThat(renderer.render(request(List.of(unit(1, 0, 1, ControlMode.BALANCED)), "euler", 5, steps, 1, false),
                StepListener.NONE).controlledSteps()).isEqualTo(10);
        assertThat(renderer.render(request(List.of(unit(1, 0.3f, 0.8f, ControlMode.BALANCED)), "euler", 5, steps, 1, false),
                StepListener.NONE).controlledSteps()).isEqualTo(5);
        assertThat(renderer.render(request(List.of(unit(0, 0, 1, ControlMode.BALANCED)), "euler", 5, steps, 1, false),
                StepListener.NONE).controlledSteps()).as("scale 0: ControlNet never runs").isZero();
    }

    @Test
    void controlScaleZeroEqualsNoControlAndControlChangesTheImage() {
        float[] none = renderer.render(request(List.of(), "dpmpp_2m", 5, 6, 4, false), StepListener.NONE).rgb();
        float[] zero = renderer.render(request(List.of(unit(0, 0, 1, ControlMode.BALANCED)), "dpmpp_2m", 5, 6, 4, false),
                StepListener.NONE).rgb();
        float[] full = renderer.render(request(List.of(unit(1, 0, 1, ControlMode.BALANCED)), "dpmpp_2m", 5, 6, 4, false),
                StepListener.NONE).rgb();
        assertThat(zero).isEqualTo(none);
        assertThat(full).isNotEqualTo(none);
    }

    @Test
    void guidanceOfOneIsTheConditionalPredictionAlone() {
        // at guidance 1, uncond + 1 * (cond - uncond) = cond: the engine then skips the unconditional half,
        // which must not change the image (up to float rounding)
        RenderRequest one = request(List.of(unit(1, 0, 1, ControlMode.BALANCED)), "ddim", 1f, 5, 8, false);
        float[] single = renderer.render(one, StepListener.NONE).rgb();
        float[] batched = renderer.renderWithGuidanceBatch(one).rgb();
        double max = 0;
        for (int i = 0; i < single.length; i++) {
            max = Math.max(max, Math.abs(single[i] - batched[i]));
        }
        assertThat(max).isLessThan(1e-4);
    }

    @Test
    void modesAndGuessModeWeighTheControlDifferently() {
        float[] balanced = renderer.render(request(List.of(unit(1, 0, 1, ControlMode.BALANCED)), "euler", 5, 4, 2, false),
                StepListener.NONE).rgb();
        float[] prompt = renderer.render(request(List.of(unit(1, 0, 1, ControlMode.PROMPT)), "euler", 5, 4, 2, false),
                StepListener.NONE).rgb();
        float[] control = renderer.render(request(List.of(unit(1, 0, 1, ControlMode.CONTROL)), "euler", 5, 4, 2, false),
                StepListener.NONE).rgb();
        float[] guess = renderer.render(request(List.of(unit(1, 0, 1, ControlMode.BALANCED)), "euler", 5, 4, 2, true),
                StepListener.NONE).rgb();
        assertThat(prompt).isNotEqualTo(balanced);
        assertThat(control).isNotEqualTo(prompt);
        assertThat(guess).isNotEqualTo(balanced);
    }

    @Test
    void scalesFollowTheModes() {
        int r = 7; // tiny: 6 residuals + middle
        RenderRequest prompt = request(List.of(unit(2, 0, 1, ControlMode.PROMPT)), "euler", 5, 4, 2, false);
        float[] s = renderer.scales(prompt, 0, 4, 2);
        assertThat(s).hasSize(2 * r);
        assertThat(s[r - 1]).isEqualTo(2f);                                    // middle block: full scale
        assertThat(s[0]).isCloseTo((float) (2 * Math.pow(0.825, 6)), org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(s[r]).as("prompt mode keeps control on the unconditional half").isEqualTo(s[0]);
        float[] c = renderer.scales(request(List.of(unit(1, 0, 1, ControlMode.CONTROL)), "euler", 5, 4, 2, false), 0, 4, 2);
        for (int k = 0; k < r; k++) {
            assertThat(c[k]).as("ControlNet mode: no control on the unconditional half").isZero();
        }
        float[] g = renderer.scales(request(List.of(unit(1, 0, 1, ControlMode.BALANCED)), "euler", 5, 4, 2, true), 0, 4, 2);
        assertThat(g[r]).isCloseTo(0.1f, org.assertj.core.data.Offset.offset(1e-6f));   // logspace(-1, 0): first 0.1
        assertThat(g[2 * r - 1]).isEqualTo(1f);
        assertThat(renderer.scales(request(List.of(unit(1, 0.5f, 1, ControlMode.BALANCED)), "euler", 5, 4, 2, false), 0, 4, 2))
                .as("outside the window: no scales, the plain UNet runs").isNull();
    }

    @Test
    void everySchedulerRenders() {
        for (SchedulerKind k : SchedulerKind.values()) {
            RenderOutput o = renderer.render(request(List.of(unit(1, 0, 1, ControlMode.BALANCED)), k.id(), 7.5f, 5, 1, false),
                    StepListener.NONE);
            for (float v : o.rgb()) {
                assertThat(Float.isFinite(v)).as(k.id()).isTrue();
            }
        }
    }

    @Test
    void previewsComeOnTheStepsAskedFor() throws Exception {
        List<Integer> previewSteps = new ArrayList<>();
        List<byte[]> previews = new ArrayList<>();
        renderer.render(request(List.of(unit(1, 0, 1, ControlMode.BALANCED)), "euler", 5, 6, 1, false), new StepListener() {
            @Override
            public void onStep(int step, int total, byte[] preview) {
                if (preview != null) {
                    previewSteps.add(step);
                    previews.add(preview);
                }
            }

            @Override
            public boolean wantsPreview(int step, int total) {
                return step % 2 == 0;
            }
        });
        assertThat(previewSteps).containsExactly(2, 4, 6);
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(previews.get(0)));
        assertThat(img.getWidth()).isEqualTo(8);
    }

    @Test
    void repeatedPromptsComeFromTheCache() {
        long misses = renderer.textEncoder().misses();
        long hits = renderer.textEncoder().hits();
        RenderRequest req = new RenderRequest("a prompt only this test uses", "", List.of(), false, 1, 2, 64, 64, 5, "euler", 0);
        renderer.render(req, StepListener.NONE);
        renderer.render(req, StepListener.NONE);
        assertThat(renderer.textEncoder().misses() - misses).isEqualTo(2); // the prompt and "" once each
        assertThat(renderer.textEncoder().hits() - hits).isEqualTo(2);
    }

    @Test
    void badRequestsAreContentFailures() {
        assertThatThrownBy(() -> renderer.render(new RenderRequest("x", "", List.of(), false, 1, 2, 60, 64, 5, "euler", 0),
                StepListener.NONE)).isInstanceOf(BadInputException.class).hasMessageContaining("multiple of 8");
        assertThatThrownBy(() -> renderer.render(request(List.of(unit(1, 0, 1, ControlMode.BALANCED), unit(1, 0, 1, ControlMode.BALANCED)),
                "euler", 5, 2, 1, false), StepListener.NONE)).isInstanceOf(BadInputException.class).hasMessageContaining("takes 1 ControlNet");
        assertThatThrownBy(() -> renderer.render(request(List.of(), "plms", 5, 2, 1, false), StepListener.NONE))
                .hasMessageContaining("unknown scheduler");
    }
}
