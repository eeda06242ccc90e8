package dev.cnfarm.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.GeneratedBundles;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.worker.engine.noise.NoiseKind;
import dev.cnfarm.worker.engine.sched.SchedulerKind;
import dev.cnfarm.worker.render.InitImage;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.StepListener;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * img2img and inpainting in the engine, on the generated tiny bundle: strength 1 is text to image
 * with the same seed, strength 0 the VAE round trip of the init image, a strength runs its share of
 * the steps (from a later step, with every sampler), and the pixels outside a mask are the init
 * image's own, exactly.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Img2ImgTest {
    private static final int SIZE = 64;

    @TempDir
    static Path models;

    private ModelBundle bundle;
    private SdRenderer renderer;
    private float[] init;

    @BeforeAll
    void load() {
        bundle = GeneratedBundles.tiny(models);
        renderer = new SdRenderer(bundle, ExecutionProviders.cpu(), new dev.cnfarm.common.config.SessionSettings(2, "all", true), 8);
        init = new float[3 * SIZE * SIZE];
        Random r = new Random(5);
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                float v = ((x / 16 + y / 16) % 2 == 0) ? 0.9f : 0.1f;
                for (int c = 0; c < 3; c++) {
                    // byte-valued, as a decoded PNG is: the composite must give these values back exactly
                    init[c * SIZE * SIZE + y * SIZE + x] = Math.round((v + 0.05f * (float) r.nextGaussian()) * 255f) / 255f;
                }
            }
        }
    }

    @AfterAll
    void close() {
        renderer.close();
    }

    private RenderRequest request(String scheduler, int steps, long seed, InitImage img) {
        return new RenderRequest("a red circle", "blurry", List.of(), false, seed, steps, SIZE, SIZE, 7.5f, scheduler, 0f, NoiseKind.FARM, img);
    }

    private float[] render(RenderRequest req) {
        return renderer.render(req, StepListener.NONE).rgb();
    }

    @Test
    void strengthOneIsTextToImageWithTheSameSeed() {
        assertThat(render(request("euler_a", 5, 3, new InitImage(init, 1f, null)))).isEqualTo(render(request("euler_a", 5, 3, null)));
    }

    @Test
    void strengthZeroIsTheVaeRoundTripOfTheInitImage() throws Exception {
        float[] got = render(request("euler", 10, 3, new InitImage(init, 0f, null)));
        assertThat(got).isEqualTo(roundTrip(init));
        assertThat(render(request("ddim", 4, 99, new InitImage(init, 0f, null)))).as("no step runs: seed and sampler do not matter")
                .isEqualTo(got);
    }

    @Test
    void aStrengthRunsItsShareOfTheStepsWithEverySampler() {
        for (SchedulerKind k : SchedulerKind.values()) {
            long before = renderer.modelRuns();
            List<int[]> reported = new ArrayList<>();
            float[] rgb = renderer.render(request(k.id(), 10, 3, new InitImage(init, 0.5f, null)), new StepListener() {
                @Override
                public void onStep(int step, int total, byte[] preview) {
                    reported.add(new int[] {step, total});
                }
            }).rgb();
            assertThat(renderer.modelRuns() - before).as(k.id()).isEqualTo(5);
            assertThat(reported).as(k.id()).extracting(s -> s[0] + "/" + s[1]).containsExactly("1/5", "2/5", "3/5", "4/5", "5/5");
            for (float v : rgb) {
                assertThat(v).as(k.id()).isBetween(0f, 1f);
            }
            assertThat(closeness(rgb, init)).as(k.id() + ": half the steps keep more of the init image than all of them")
                    .isLessThan(closeness(render(request(k.id(), 10, 3, null)), init));
        }
        assertThat(new InitImage(init, 0.3f, null).startStep(10)).as("0.3 x 10 is 3 steps run").isEqualTo(7);
    }

    @Test
    void pixelsOutsideTheMaskAreTheInitImagesOwnExactly() {
        float[] mask = new float[SIZE * SIZE];
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE / 2; x++) {
                mask[y * SIZE + x] = 1f; // repaint the left half
            }
        }
        for (float strength : new float[] {0.6f, 1f}) {
            float[] rgb = render(request("dpmpp_2m", 8, 4, new InitImage(init, strength, mask)));
            int changed = 0;
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < SIZE; y++) {
                    for (int x = 0; x < SIZE; x++) {
                        int k = c * SIZE * SIZE + y * SIZE + x;
                        if (x >= SIZE / 2) {
                            assertThat(rgb[k]).as("kept pixel %d,%d", x, y).isEqualTo(init[k]);
                        } else if (Math.abs(rgb[k] - init[k]) > 1e-3) {
                            changed++;
                        }
                    }
                }
            }
            assertThat(changed).as("the masked half is repainted at strength " + strength).isGreaterThan(3 * SIZE * SIZE / 4);
        }
    }

    /** Mean absolute difference. */
    private static double closeness(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d += Math.abs(a[i] - b[i]);
        }
        return d / a.length;
    }

    /** The engine's session settings (2 threads, every optimisation): the same kernels, the same floats. */
    private static OrtSession.SessionOptions threads(OrtSession.SessionOptions o) throws Exception {
        o.setIntraOpNumThreads(2);
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return o;
    }

    /** The bundle's VAE encoder (its mean) then decoder, run here directly. */
    private float[] roundTrip(float[] rgb) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[] x = new float[rgb.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = rgb[i] * 2 - 1;
        }
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions();
             OrtSession enc = env.createSession(bundle.graph(BundleBuilder.VAE_ENCODER).toString(), threads(o));
             OrtSession dec = env.createSession(bundle.graph(BundleBuilder.VAE_DECODER).toString(), o);
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, 3, SIZE, SIZE});
             OrtSession.Result latent = enc.run(Map.of(enc.getInputNames().iterator().next(), in))) {
            // the engine scales by the VAE's factor and back: the same float operations here
            float f = 0.18215f;
            float[] z = Tensors.read((OnnxTensor) latent.get(0));
            for (int i = 0; i < z.length; i++) {
                z[i] = z[i] * f / f;
            }
            try (OnnxTensor zt = OnnxTensor.createTensor(env, FloatBuffer.wrap(z), new long[] {1, 4, SIZE / 8, SIZE / 8});
                 OrtSession.Result img = dec.run(Map.of(dec.getInputNames().iterator().next(), zt), Set.of(dec.getOutputNames().iterator().next()))) {
                float[] out = Tensors.read((OnnxTensor) img.get(0));
                for (int i = 0; i < out.length; i++) {
                    out[i] = Math.max(0f, Math.min(1f, out[i] / 2f + 0.5f));
                }
                return out;
            }
        }
    }
}
