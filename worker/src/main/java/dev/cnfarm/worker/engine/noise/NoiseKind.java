package dev.cnfarm.worker.engine.noise;

import dev.cnfarm.worker.engine.GaussianNoise;
import dev.cnfarm.worker.engine.sched.NoiseSource;
import java.util.Locale;

/**
 * Which generator makes an image's noise from its seed. Each image has its own generator seeded
 * with its own seed (as diffusers with one generator per image), so an image's noise does not
 * depend on what it was batched with.
 */
public enum NoiseKind {
    /**
     * The farm's own ({@link GaussianNoise}): {@code java.util.Random}, fixed by the Java SE
     * specification, a fresh stream per step. The default: the same on every worker and JVM.
     */
    FARM,
    /**
     * PyTorch's CPU generator ({@link TorchCpuGenerator}): the initial latent is
     * {@code torch.randn} of its shape after {@code torch.manual_seed(seed)}, and each ancestral or
     * stochastic step draws the next {@code torch.randn} of the same generator, as diffusers does
     * with a CPU generator (and ComfyUI, for one image).
     */
    TORCH_CPU,
    /**
     * PyTorch's CUDA generator ({@link PhiloxGenerator}, computed on the CPU as A1111's "NV" source
     * does): the GPU numbers A1111 (its default) and diffusers on a GPU start from; each draw moves
     * the generator's offset on by one, so ancestral steps draw on from the same generator.
     */
    CUDA_PHILOX;

    /** The job field's value: {@code farm} or {@code torch_cpu}; empty means farm. */
    public static NoiseKind of(String s) {
        if (s == null || s.isEmpty()) {
            return FARM;
        }
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "farm" -> FARM;
            case "torch_cpu" -> TORCH_CPU;
            case "cuda_philox" -> CUDA_PHILOX;
            default -> throw new IllegalArgumentException("unknown noise generator '" + s + "'; use farm, torch_cpu or cuda_philox");
        };
    }

    /** The generator for one image: its initial noise and the noise of its steps. */
    public ImageNoise forSeed(long seed) {
        return switch (this) {
            case FARM -> new GaussianNoise(seed);
            case TORCH_CPU -> scaled(new TorchCpuGenerator(seed)::randn);
            case CUDA_PHILOX -> scaled(new PhiloxGenerator(seed)::randn);
        };
    }

    /** A generator's consecutive draws: the first, scaled, is the starting latent; the next ones the steps' noise. */
    private static ImageNoise scaled(java.util.function.IntFunction<float[]> draw) {
        return new ImageNoise() {
            @Override
            public float[] initial(int count, double scale) {
                float[] v = draw.apply(count);
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (v[i] * scale);
                }
                return v;
            }

            @Override
            public float[] gaussian(int count, int step) {
                return draw.apply(count); // the steps draw in order from the same generator
            }
        };
    }

    /** One image's noise: its starting latent, then the noise its sampler asks for step by step. */
    public interface ImageNoise extends NoiseSource {
        float[] initial(int count, double scale);
    }
}
