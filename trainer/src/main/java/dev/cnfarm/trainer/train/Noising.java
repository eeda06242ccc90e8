package dev.cnfarm.trainer.train;

import dev.cnfarm.trainer.torch.Torch;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The forward diffusion of a training batch: Gaussian noise (plus, with offset noise, a constant per
 * sample and channel) mixed into the clean latents at each sample's timestep. The noise comes from
 * libtorch's generator seeded with {@code seed}, so a step's draw is fixed by it.
 *
 * @param noise the noise the model must predict
 * @param noisy the latents at their timesteps
 */
public record Noising(Tensor noise, Tensor noisy) {

    /**
     * @param x0         clean latents [b, channels, side, side], flattened
     * @param signal     sqrt(alpha_cumprod) of each sample's timestep
     * @param noiseScale sqrt(1 - alpha_cumprod) of each sample's timestep
     */
    public static Noising of(long seed, float[] x0, int b, int channels, int side, float[] signal, float[] noiseScale, double offsetNoise) {
        torch.manual_seed(seed);
        Tensor clean = Torch.floats(x0, b, channels, side, side);
        Tensor noise = torch.randn(b, channels, side, side);
        if (offsetNoise > 0) {
            noise = noise.add(torch.randn(b, channels, 1, 1).mul(new Scalar(offsetNoise)));
        }
        Tensor noisy = clean.mul(Torch.floats(signal, b, 1, 1, 1)).add(noise.mul(Torch.floats(noiseScale, b, 1, 1, 1)));
        return new Noising(noise, noisy);
    }
}
