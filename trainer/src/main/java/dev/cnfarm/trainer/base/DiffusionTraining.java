package dev.cnfarm.trainer.base;

import dev.cnfarm.models.arch.ClipText;
import dev.cnfarm.models.arch.ClipTextConfig;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.UNet;
import dev.cnfarm.models.arch.UNetConfig;
import dev.cnfarm.trainer.torch.ParameterStore;
import dev.cnfarm.trainer.torch.Torch;
import dev.cnfarm.trainer.torch.TorchNn;
import dev.cnfarm.trainer.train.Noising;
import dev.cnfarm.trainer.train.Optimiser;
import dev.cnfarm.trainer.train.StageRunner;
import dev.cnfarm.trainer.train.TrainingListener;
import dev.cnfarm.worker.engine.sched.NoiseSchedule;
import dev.cnfarm.worker.engine.sched.SchedulerConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Trains the text encoder and the UNet together on the VAE's latents with the diffusion loss:
 * noise the latent to a random timestep of SD1.5's training schedule (the schedule the render
 * engine samples with), predict the noise, mean squared error.
 *
 * <p>The recipe that makes captions matter (decision 0014): <b>offset noise</b> (each sample's
 * noise gets a constant per channel, {@code offset} x N(0, 1)), since SD's schedule leaves signal
 * in a flat image's mean at the last timestep and a small model otherwise learns the colours from
 * that leftover instead of from the caption; <b>min-SNR-gamma loss weights</b>
 * (min(SNR, gamma) / SNR), which keep the easy low-noise steps from dominating; and a share of
 * <b>empty captions</b> so classifier-free guidance has an unconditional model to push from.
 */
public final class DiffusionTraining {
    public static final String STAGE = "diffusion";

    public record Settings(int steps, int batch, double learningRate, int warmupSteps, double emptyCaptionRate, double offsetNoise,
                           double minSnrGamma, double emaDecay, long seed, int checkpointEvery) {}

    private DiffusionTraining() {}

    /** Creates the text encoder's and the UNet's parameters in {@code store} (seeded). */
    public static void materialise(ParameterStore store, UNetConfig u, ClipTextConfig t, int latentSide) {
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            TorchNn nn = new TorchNn(store);
            long[] ids = new long[77];
            Tensor ctx = ClipText.forward(nn, ModelGraphs.TEXT_ENCODER, Torch.longs(ids, 1, 77), t).lastHiddenState();
            UNet.forward(nn, ModelGraphs.UNET, torch.zeros(1, u.inChannels(), latentSide, latentSide), Torch.floats(new float[] {0}, 1),
                    ctx, u, null, null);
        }
    }

    /**
     * @param latents   scaled latents of the training images, [count][C * h * w]
     * @param tokens    each image's caption as token ids [count][77]
     * @param emptyIds  the empty caption's token ids
     */
    public static StageRunner.Result train(ParameterStore store, UNetConfig u, ClipTextConfig t, float[][] latents, long[][] tokens,
                                           long[] emptyIds, int latentSide, Settings s, Path checkpoints, TrainingListener listener) {
        TorchNn nn = new TorchNn(store);
        NoiseSchedule schedule = new NoiseSchedule(SchedulerConfig.sd15());
        int per = latents[0].length;
        int channels = per / (latentSide * latentSide);
        StageRunner runner = new StageRunner(new StageRunner.Settings(STAGE, s.steps(), s.checkpointEvery(),
                new Optimiser.Settings(s.learningRate(), s.warmupSteps(), s.steps(), 0.1, 1e-2, 1.0), s.emaDecay()),
                store, List.of(ModelGraphs.TEXT_ENCODER, ModelGraphs.UNET), checkpoints, listener);
        return runner.run(step -> {
            SplittableRandom rnd = new SplittableRandom(s.seed() * 0x9E3779B97F4A7C15L + step);
            int b = s.batch();
            float[] x0 = new float[b * per];
            long[] ids = new long[b * 77];
            float[] timesteps = new float[b];
            float[] signal = new float[b];
            float[] noiseScale = new float[b];
            float[] weights = new float[b];
            for (int k = 0; k < b; k++) {
                int i = rnd.nextInt(latents.length);
                System.arraycopy(latents[i], 0, x0, k * per, per);
                System.arraycopy(rnd.nextDouble() < s.emptyCaptionRate() ? emptyIds : tokens[i], 0, ids, k * 77, 77);
                int ts = rnd.nextInt(schedule.trainSteps());
                double acp = schedule.alphaCumprod(ts);
                timesteps[k] = ts;
                signal[k] = (float) Math.sqrt(acp);
                noiseScale[k] = (float) Math.sqrt(1 - acp);
                double snr = acp / (1 - acp);
                weights[k] = (float) (Math.min(snr, s.minSnrGamma()) / snr);
            }
            Noising n = Noising.of(s.seed() * 31 + step, x0, b, channels, latentSide, signal, noiseScale, s.offsetNoise());
            Tensor noise = n.noise();
            Tensor noisy = n.noisy();
            Tensor ctx = ClipText.forward(nn, ModelGraphs.TEXT_ENCODER, Torch.longs(ids, b, 77), t).lastHiddenState();
            Tensor pred = UNet.forward(nn, ModelGraphs.UNET, noisy, Torch.floats(timesteps, b), ctx, u, null, null);
            Tensor perSample = pred.sub(noise).square().mean(new long[] {1, 2, 3}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
            return perSample.mul(Torch.floats(weights, b)).mean();
        });
    }
}
