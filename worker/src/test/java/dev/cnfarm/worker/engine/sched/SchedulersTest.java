package dev.cnfarm.worker.engine.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.util.Random;
import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The schedulers against the reference facts (schedule values, timestep tables) and against an
 * oracle model that always returns the true noise of a known clean latent: a correct sampler then
 * lands on that latent.
 */
class SchedulersTest {
    private static final SchedulerConfig SD15 = SchedulerConfig.sd15();

    @Test
    void trainingScheduleMatchesTheReference() {
        NoiseSchedule s = new NoiseSchedule(SD15);
        assertThat(s.alphaCumprod(0)).isCloseTo(0.99915, Percentage.withPercentage(1e-4));
        assertThat(s.alphaCumprod(500)).isCloseTo(0.2763326838, Percentage.withPercentage(1e-3));
        assertThat(s.alphaCumprod(999)).isCloseTo(0.004660098513, Percentage.withPercentage(1e-3));
        assertThat(s.sigma(0)).isCloseTo(0.0291671582, Percentage.withPercentage(1e-3));
        assertThat(s.sigma(999)).isCloseTo(14.6146412, Percentage.withPercentage(1e-3));
    }

    @Test
    void timestepTablesFollowEachSchedulersDefaultSpacing() {
        Scheduler ddim = SchedulerKind.DDIM.create(SD15, 20, 0);
        assertThat(ddim.timestep(0)).isEqualTo(951);
        assertThat(ddim.timestep(19)).isEqualTo(1);
        Scheduler euler = SchedulerKind.EULER.create(SD15, 20, 0);
        assertThat(euler.timestep(0)).isEqualTo(999);
        assertThat(euler.timestep(1)).isCloseTo(946.421, offset(1e-3));
        assertThat(euler.timestep(19)).isEqualTo(0);
        assertThat(euler.initNoiseSigma()).isCloseTo(14.6146, offset(1e-3));
        Scheduler dpm = SchedulerKind.DPMPP_2M.create(SD15, 20, 0);
        double[] expected = {999, 949, 899, 849, 799, 749, 699, 649, 599, 549, 500, 450, 400, 350, 300, 250, 200, 150, 100, 50};
        for (int i = 0; i < 20; i++) {
            assertThat(dpm.timestep(i)).as("dpm++ timestep %d", i).isEqualTo(expected[i]);
        }
        assertThat(dpm.sigmas()[20]).isZero();
        Scheduler karras = SchedulerKind.DPMPP_2M_KARRAS.create(SD15, 20, 0);
        assertThat(karras.sigmas()[0]).isCloseTo(14.6146, offset(1e-3));
        assertThat(karras.sigmas()[19]).isCloseTo(0.0291672, offset(1e-6));
        assertThat(karras.timestep(0)).isEqualTo(999);
    }

    /** True noise of {@code x0} for a model input at timestep t (every scheduler feeds a variance-preserving input). */
    private static float[] oracle(float[] x0, float[] input, double t) {
        double sigma = new NoiseSchedule(SD15).sigmaAt(t);
        double a = 1 / Math.sqrt(sigma * sigma + 1);
        float[] eps = new float[x0.length];
        for (int i = 0; i < eps.length; i++) {
            eps[i] = (float) ((input[i] - a * x0[i]) / (a * sigma));
        }
        return eps;
    }

    private static float[] sample(SchedulerKind kind, int steps, float[] x0, long seed) {
        Scheduler s = kind.create(SD15, steps, 0);
        Random r = new Random(seed);
        float[] x = new float[x0.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * s.initNoiseSigma());
        }
        NoiseSource noise = (n, step) -> {
            Random z = new Random(seed * 31 + step);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) z.nextGaussian();
            }
            return v;
        };
        for (int i = 0; i < s.steps(); i++) {
            float[] in = s.scaleModelInput(x, i);
            x = s.step(oracle(x0, in, s.timestep(i)), i, x, noise);
        }
        return x;
    }

    @ParameterizedTest(name = "{0}, {1} steps")
    @CsvSource({"ddim, 20, 1e-4", "ddim, 50, 1e-4", "euler, 20, 1e-4", "euler_a, 20, 1e-4", "dpmpp_2m, 20, 1e-4",
            "dpmpp_2m, 8, 1e-4", "unipc, 20, 1e-4", "unipc, 8, 1e-4", "dpmpp_2m_karras, 20, 2e-2"})
    void withTheTrueNoiseEverySamplerLandsOnTheCleanLatent(String name, int steps, double tolerance) {
        Random r = new Random(7);
        float[] x0 = new float[4 * 8 * 8];
        for (int i = 0; i < x0.length; i++) {
            x0[i] = (float) (r.nextGaussian() * 0.8);
        }
        float[] out = sample(SchedulerKind.of(name), steps, x0, 42);
        float[] expected = x0;
        if (name.equals("ddim")) {
            // SD1.5 sets set_alpha_to_one = false: DDIM stops at the noise level of t = 0, keeping
            // sqrt(1 - acp[0]) (sigma 0.029) of the initial noise, which eta 0 never changes
            expected = ddimEnd(x0, 42, steps);
        }
        double maxErr = 0;
        for (int i = 0; i < x0.length; i++) {
            maxErr = Math.max(maxErr, Math.abs(out[i] - expected[i]));
        }
        assertThat(maxErr).as("%s max error", name).isLessThanOrEqualTo(tolerance);
    }

    /** sqrt(a0) x0 + sqrt(1 - a0) eps, with eps the initial noise's component orthogonal to x0 at t_first. */
    private static float[] ddimEnd(float[] x0, long seed, int steps) {
        NoiseSchedule ns = new NoiseSchedule(SD15);
        Scheduler s = SchedulerKind.DDIM.create(SD15, steps, 0);
        double aT = ns.alphaCumprod((int) s.timestep(0));
        double a0 = ns.alphaCumprod(0);
        Random r = new Random(seed);
        float[] out = new float[x0.length];
        for (int i = 0; i < x0.length; i++) {
            double xT = r.nextGaussian();
            double eps = (xT - Math.sqrt(aT) * x0[i]) / Math.sqrt(1 - aT);
            out[i] = (float) (Math.sqrt(a0) * x0[i] + Math.sqrt(1 - a0) * eps);
        }
        return out;
    }

    @Test
    void ancestralNoiseIsFixedBySeed() {
        // a model that is not an oracle, so the injected noise shows in the result
        SchedulerKind kind = SchedulerKind.EULER_A;
        float[] a = run(kind, 5);
        float[] b = run(kind, 5);
        float[] c = run(kind, 6);
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
        assertThat(kind.stochastic()).isTrue();
    }

    private static float[] run(SchedulerKind kind, long seed) {
        Scheduler s = kind.create(SD15, 10, 0);
        float[] x = new float[16];
        java.util.Arrays.fill(x, 1f);
        NoiseSource noise = (n, step) -> {
            Random z = new Random(seed * 1000 + step);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) z.nextGaussian();
            }
            return v;
        };
        for (int i = 0; i < s.steps(); i++) {
            float[] in = s.scaleModelInput(x, i);
            float[] eps = new float[in.length];
            for (int k = 0; k < eps.length; k++) {
                eps[k] = 0.5f * in[k];
            }
            x = s.step(eps, i, x, noise);
        }
        return x;
    }

    @Test
    void unknownSchedulerListsTheKnownOnes() {
        assertThatThrownBy(() -> SchedulerKind.of("lms")).hasMessageContaining("dpmpp_2m_karras").hasMessageContaining("'lms'");
        assertThatThrownBy(() -> SchedulerKind.EULER.create(SD15, 0, 0)).hasMessageContaining("steps");
    }
}
