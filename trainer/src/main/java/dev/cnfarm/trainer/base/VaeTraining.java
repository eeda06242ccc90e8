package dev.cnfarm.trainer.base;

import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.Vae;
import dev.cnfarm.models.arch.VaeConfig;
import dev.cnfarm.trainer.data.ImageSet;
import dev.cnfarm.trainer.torch.ParameterStore;
import dev.cnfarm.trainer.torch.Torch;
import dev.cnfarm.trainer.torch.TorchNn;
import dev.cnfarm.trainer.train.Optimiser;
import dev.cnfarm.trainer.train.StageRunner;
import dev.cnfarm.trainer.train.TrainingListener;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Trains the KL autoencoder: random crops of the training images, encoded to the latent
 * distribution, a sample decoded; loss = L1 + MSE of the reconstruction plus a small KL term
 * (the LDM autoencoder's recipe without its perceptual and adversarial terms, which flat synthetic
 * images do not need). The log-variance starts at -8 (the bias of its half of {@code quant_conv}),
 * so the sampling noise does not swamp the latent at the start.
 */
public final class VaeTraining {
    public static final String STAGE = "vae";

    /**
     * @param crop     side of the random crops trained on (the network is convolutional, so small crops
     *                 teach it what whole images need, at a fraction of the cost)
     * @param klWeight weight of the KL term (summed over the latent, averaged over the batch)
     */
    public record Settings(int steps, int batch, int crop, double learningRate, double klWeight, long seed, int checkpointEvery) {}

    private VaeTraining() {}

    /** Creates the VAE's parameters in {@code store} (seeded) with the log-variance bias at -8. */
    public static void materialise(ParameterStore store, VaeConfig c) {
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            TorchNn nn = new TorchNn(store);
            Vae.Posterior<Tensor> p = Vae.encode(nn, ModelGraphs.VAE, torch.zeros(1, 3, 16, 16), c);
            Vae.decode(nn, ModelGraphs.VAE, p.mean(), c);
        }
        String bias = ModelGraphs.VAE + ".quant_conv.bias";
        float[] b = store.values(bias);
        for (int i = c.latentChannels(); i < b.length; i++) {
            b[i] = -8f;
        }
        store.set(bias, b);
    }

    public static StageRunner.Result train(ParameterStore store, VaeConfig c, ImageSet images, Settings s, Path checkpoints,
                                           TrainingListener listener) {
        TorchNn nn = new TorchNn(store);
        int crop = Math.min(s.crop(), images.size());
        StageRunner runner = new StageRunner(new StageRunner.Settings(STAGE, s.steps(), s.checkpointEvery(),
                new Optimiser.Settings(s.learningRate(), Math.min(200, s.steps() / 10 + 1), s.steps(), 0.1, 0.0, 1.0), 0),
                store, List.of(ModelGraphs.VAE), checkpoints, listener);
        return runner.run(step -> {
            SplittableRandom rnd = new SplittableRandom(s.seed() * 0x9E3779B97F4A7C15L + step);
            float[] batch = new float[s.batch() * 3 * crop * crop];
            for (int b = 0; b < s.batch(); b++) {
                int i = rnd.nextInt(images.count());
                images.crop(i, rnd.nextInt(images.size() - crop + 1), rnd.nextInt(images.size() - crop + 1), crop, rnd.nextBoolean(),
                        batch, b * 3 * crop * crop);
            }
            torch.manual_seed(s.seed() * 31 + step);
            Tensor x = Torch.floats(batch, s.batch(), 3, crop, crop);
            Vae.Posterior<Tensor> post = Vae.encode(nn, ModelGraphs.VAE, x, c);
            Tensor std = post.logVariance().mul(new Scalar(0.5)).exp();
            Tensor z = post.mean().add(std.mul(torch.randn(Torch.shape(std))));
            Tensor rec = Vae.decode(nn, ModelGraphs.VAE, z, c);
            Tensor diff = rec.sub(x);
            Tensor kl = post.mean().square().add(post.logVariance().exp()).sub(new Scalar(1)).sub(post.logVariance())
                    .sum().mul(new Scalar(0.5 / s.batch()));
            return diff.abs().mean().add(diff.square().mean()).add(kl.mul(new Scalar(s.klWeight())));
        });
    }

    /** PSNR (dB, 8-bit) of reconstructions through the latent mean, over whole images. */
    public static double psnr(ParameterStore store, VaeConfig c, ImageSet images, int count) {
        TorchNn nn = new TorchNn(store);
        int n = Math.min(count, images.count());
        int size = images.size();
        double se = 0;
        long values = 0;
        for (int i = 0; i < n; i += 16) {
            int b = Math.min(16, n - i);
            float[] batch = new float[b * 3 * size * size];
            for (int k = 0; k < b; k++) {
                images.crop(i + k, 0, 0, size, false, batch, k * 3 * size * size);
            }
            try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                Tensor x = Torch.floats(batch, b, 3, size, size);
                Tensor rec = Vae.decode(nn, ModelGraphs.VAE, Vae.encode(nn, ModelGraphs.VAE, x, c).mean(), c);
                float[] r = Torch.toFloats(rec);
                for (int k = 0; k < r.length; k++) {
                    double a = Math.round(Math.max(0, Math.min(255, (batch[k] + 1) * 127.5)));
                    double bb = Math.round(Math.max(0, Math.min(255, (r[k] + 1) * 127.5)));
                    se += (a - bb) * (a - bb);
                    values++;
                }
            }
        }
        double mse = se / values;
        return 10 * Math.log10(255.0 * 255.0 / Math.max(mse, 1e-12));
    }

    /** The latent means of every image, unscaled: [count][latent * (size/8)^2]. */
    public static float[][] encodeAll(ParameterStore store, VaeConfig c, ImageSet images, TrainingListener listener) {
        TorchNn nn = new TorchNn(store);
        int size = images.size();
        float[][] out = new float[images.count()][];
        for (int i = 0; i < images.count(); i += 32) {
            int b = Math.min(32, images.count() - i);
            float[] batch = new float[b * 3 * size * size];
            for (int k = 0; k < b; k++) {
                images.crop(i + k, 0, 0, size, false, batch, k * 3 * size * size);
            }
            try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                float[] m = Torch.toFloats(Vae.encode(nn, ModelGraphs.VAE, Torch.floats(batch, b, 3, size, size), c).mean());
                int per = m.length / b;
                for (int k = 0; k < b; k++) {
                    out[i + k] = java.util.Arrays.copyOfRange(m, k * per, (k + 1) * per);
                }
            }
            listener.step("encode", Math.min(i + 32, images.count()), images.count(), 0, 0);
        }
        return out;
    }
}
