package dev.cnfarm.trainer.controlnet;

import dev.cnfarm.models.arch.ClipText;
import dev.cnfarm.models.arch.ControlNet;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.arch.UNet;
import dev.cnfarm.trainer.data.ImageSet;
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
import java.util.Locale;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The ControlNet paper's training: the base model (text encoder, UNet) locked, a trainable copy of
 * the UNet's encoder and middle block ({@link ControlNetInit}) fed the noisy latent and the control
 * image, its outputs added to the locked UNet's skips and middle through zero convolutions; the
 * loss is the controlled UNet's noise-prediction error, plain mean squared error over uniformly
 * drawn timesteps of SD1.5's schedule. A share of the captions (half, as in the paper) is replaced
 * by the empty caption, so the ControlNet learns to read the control image on its own.
 *
 * <p>The regimes ({@link Links}): the standard one connects every link from the start; the paper's
 * small-scale regime connects only the middle-block link for the first steps (the decoder's skip
 * links cut, which trains faster on little compute) and then reconnects the rest.
 */
public final class ControlNetTraining {
    public static final String STAGE = "controlnet";
    public static final String COMPONENT = ModelGraphs.controlnetComponent(0);

    /** Which links between the ControlNet and the locked UNet carry its output. */
    public enum Links {
        /** every skip link and the middle link from the first step */
        ALL,
        /** the paper's small-scale regime: only the middle-block link until the reconnect step, then all of them */
        MIDDLE_FIRST;

        public static Links of(String s) {
            return switch (s.toLowerCase(Locale.ROOT).replace('-', '_')) {
                case "all", "standard", "full" -> ALL;
                case "middle_first", "small_scale", "small" -> MIDDLE_FIRST;
                default -> throw new IllegalArgumentException("links must be all or small-scale (only the middle-block link until "
                        + "reconnect_at, then all), got " + s);
            };
        }
    }

    /** How a step's timesteps are drawn. */
    public enum Timesteps {
        /** uniformly over the schedule, as the paper trains */
        UNIFORM,
        /**
         * {@code t = (1 - u^3) T}: most draws at high noise, where the layout of an image is decided
         * (T2I-Adapter's non-uniform sampling); with the noise-prediction loss the layout's share of
         * the error is small at uniform draws, and a ControlNet for layout conditions learns slowly.
         */
        CUBIC;

        public static Timesteps of(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "uniform" -> UNIFORM;
                case "cubic" -> CUBIC;
                default -> throw new IllegalArgumentException("timestep_sampling must be uniform or cubic, got " + s);
            };
        }

        int draw(SplittableRandom rnd, int trainSteps) {
            if (this == UNIFORM) {
                return rnd.nextInt(trainSteps);
            }
            double u = rnd.nextDouble();
            return Math.min(trainSteps - 1, (int) ((1 - u * u * u) * trainSteps));
        }
    }

    /**
     * @param accumulation  micro-batches per optimiser step (the effective batch is batch x accumulation)
     * @param reconnectAt   for {@link Links#MIDDLE_FIRST}: the step from which every link is connected
     * @param emaDecay      moving average of the ControlNet's weights (0: none; the last weights are kept)
     * @param unlockDecoderAt the paper's large-scale regime: from this step on the base UNet's decoder
     *                      (up blocks and output stage) trains too, at {@code decoderLearningRate}; 0 keeps the base locked
     */
    public record Settings(int steps, int batch, int accumulation, double learningRate, int warmupSteps, double emptyCaptionRate,
                           double offsetNoise, Links links, int reconnectAt, Timesteps timesteps, double emaDecay, long seed,
                           int checkpointEvery, int unlockDecoderAt, double decoderLearningRate) {
        /** The base stays locked for the whole run. */
        public Settings(int steps, int batch, int accumulation, double learningRate, int warmupSteps, double emptyCaptionRate,
                        double offsetNoise, Links links, int reconnectAt, Timesteps timesteps, double emaDecay, long seed, int checkpointEvery) {
            this(steps, batch, accumulation, learningRate, warmupSteps, emptyCaptionRate, offsetNoise, links, reconnectAt, timesteps, emaDecay,
                    seed, checkpointEvery, 0, 0);
        }

        public Settings {
            if (unlockDecoderAt < 0 || unlockDecoderAt >= steps || (unlockDecoderAt > 0 && !(decoderLearningRate > 0))) {
                throw new IllegalArgumentException("the decoder unlocks at a step from 1 to steps - 1 with a learning rate above 0, got step "
                        + unlockDecoderAt + " and rate " + decoderLearningRate);
            }
            if (steps < 1 || batch < 1 || accumulation < 1 || checkpointEvery < 1) {
                throw new IllegalArgumentException("steps, batch, accumulation and checkpoint interval must be at least 1");
            }
            if (!(learningRate > 0)) {
                throw new IllegalArgumentException("the learning rate must be above 0, got " + learningRate);
            }
            if (emptyCaptionRate < 0 || emptyCaptionRate > 1) {
                throw new IllegalArgumentException("the empty caption rate must be in [0, 1], got " + emptyCaptionRate);
            }
            if (emaDecay < 0 || emaDecay >= 1) {
                throw new IllegalArgumentException("the EMA decay must be in [0, 1), got " + emaDecay);
            }
        }
    }

    private ControlNetTraining() {}

    /** Creates the ControlNet's, the UNet's and the text encoder's parameters in {@code store}, the base locked. */
    public static void materialise(ParameterStore store, ModelPreset preset, int latentSide) {
        store.lock(ModelGraphs.UNET);
        store.lock(ModelGraphs.TEXT_ENCODER);
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            TorchNn nn = new TorchNn(store);
            long[] ids = new long[77];
            Tensor ctx = ClipText.forward(nn, ModelGraphs.TEXT_ENCODER, Torch.longs(ids, 1, 77), preset.textEncoder()).lastHiddenState();
            int factor = preset.controlnet().imageToLatentFactor();
            Tensor x = torch.zeros(1, preset.unet().inChannels(), latentSide, latentSide);
            Tensor t = Torch.floats(new float[] {0}, 1);
            controlledUNet(nn, preset, x, t, ctx, torch.zeros(1, 3, (long) latentSide * factor, (long) latentSide * factor), true);
        }
    }

    /** The controlled UNet's noise prediction. */
    public static Tensor controlledUNet(TorchNn nn, ModelPreset preset, Tensor noisy, Tensor timesteps, Tensor ctx, Tensor control,
                                        boolean allLinks) {
        ControlNet.Residuals<Tensor> r = ControlNet.forward(nn, COMPONENT, noisy, timesteps, ctx, control, preset.controlnet());
        return UNet.forward(nn, ModelGraphs.UNET, noisy, timesteps, ctx, preset.unet(), allLinks ? r.down() : null, r.mid());
    }

    /** Whether a step trains with every link connected. */
    public static boolean allLinks(Settings s, long step) {
        return s.links() == Links.ALL || step >= s.reconnectAt();
    }

    /**
     * A runner for the stage: the ControlNet trained, everything else locked (in the large-scale
     * regime the UNet's decoder joins at {@link Settings#unlockDecoderAt()}).
     */
    public static StageRunner runner(ParameterStore store, Settings s, Path checkpoints, TrainingListener listener) {
        StageRunner r = new StageRunner(new StageRunner.Settings(STAGE, s.steps(), s.checkpointEvery(),
                new Optimiser.Settings(s.learningRate(), s.warmupSteps(), s.steps(), 1.0, 1e-2, 1.0), s.emaDecay(), s.accumulation()),
                store, List.of(COMPONENT), checkpoints, listener);
        if (s.unlockDecoderAt() > 0) {
            r.join(new StageRunner.Joining(s.unlockDecoderAt(), decoderParameters(store), s.decoderLearningRate()));
        }
        return r;
    }

    /** The graph names of the UNet's decoder: its up blocks and output stage (what the large-scale regime unlocks). */
    public static List<String> decoderParameters(ParameterStore store) {
        String unet = ModelGraphs.UNET + ".";
        return store.specs(ModelGraphs.UNET).stream().map(p -> p.onnxName())
                .filter(n -> n.startsWith(unet + "up_blocks.") || n.startsWith(unet + "conv_norm_out.") || n.startsWith(unet + "conv_out."))
                .toList();
    }

    /**
     * Runs (or resumes) the training.
     *
     * @param latents  scaled latents of the training images, [count][C * side * side]
     * @param controls the control images of the same rows
     * @param tokens   each row's caption as token ids [count][77]
     * @param emptyIds the empty caption's token ids
     */
    public static StageRunner.Result train(StageRunner runner, ParameterStore store, ModelPreset preset, float[][] latents, ImageSet controls,
                                           long[][] tokens, long[] emptyIds, int latentSide, Settings s) {
        TorchNn nn = new TorchNn(store);
        NoiseSchedule schedule = new NoiseSchedule(SchedulerConfig.sd15());
        int per = latents[0].length;
        int channels = per / (latentSide * latentSide);
        int side = controls.size();
        int plane = 3 * side * side;
        return runner.run(draw -> {
            long step = draw / s.accumulation();
            SplittableRandom rnd = new SplittableRandom(s.seed() * 0x9E3779B97F4A7C15L + draw);
            int b = s.batch();
            float[] x0 = new float[b * per];
            float[] ctl = new float[b * plane];
            long[] ids = new long[b * 77];
            float[] timesteps = new float[b];
            float[] signal = new float[b];
            float[] noiseScale = new float[b];
            for (int k = 0; k < b; k++) {
                int i = rnd.nextInt(latents.length);
                System.arraycopy(latents[i], 0, x0, k * per, per);
                controls.unit(i, ctl, k * plane);
                System.arraycopy(rnd.nextDouble() < s.emptyCaptionRate() ? emptyIds : tokens[i], 0, ids, k * 77, 77);
                int ts = s.timesteps().draw(rnd, schedule.trainSteps());
                double acp = schedule.alphaCumprod(ts);
                timesteps[k] = ts;
                signal[k] = (float) Math.sqrt(acp);
                noiseScale[k] = (float) Math.sqrt(1 - acp);
            }
            Noising n = Noising.of(s.seed() * 31 + draw, x0, b, channels, latentSide, signal, noiseScale, s.offsetNoise());
            Tensor noise = n.noise();
            Tensor noisy = n.noisy();
            Tensor ctx;
            try (NoGradGuard g = new NoGradGuard()) {
                ctx = ClipText.forward(nn, ModelGraphs.TEXT_ENCODER, Torch.longs(ids, b, 77), preset.textEncoder()).lastHiddenState();
            }
            Tensor pred = controlledUNet(nn, preset, noisy, Torch.floats(timesteps, b), ctx, Torch.floats(ctl, b, 3, side, side),
                    allLinks(s, step));
            return torch.mse_loss(pred, noise);
        });
    }
}
