package dev.cnfarm.trainer.train;

import java.nio.file.Path;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * AdamW with the schedule and clipping a diffusion training run uses: linear warm-up to the peak
 * learning rate, then a cosine decay to {@code finalFraction} of it; the gradients' global L2
 * norm clipped to {@code clipNorm} before each update. Its state (moments, step counts) is saved
 * with a checkpoint so a resumed run continues exactly.
 */
public final class Optimiser implements AutoCloseable {
    /** Settings of AdamW and its schedule. */
    public record Settings(double learningRate, int warmupSteps, int totalSteps, double finalFraction, double weightDecay,
                           double clipNorm) {}

    private final Settings s;
    private final TensorVector params;
    private final AdamW adam;
    private double lastNorm;

    public Optimiser(TensorVector params, Settings settings) {
        this.s = settings;
        this.params = params;
        // betas (0.9, 0.999) and eps 1e-8 are libtorch's defaults. Do not set betas through
        // betas().put(i, v): it points at a std::tuple, whose elements libstdc++ lays out in reverse
        // order, so index 0 is beta2 (setting (0.9, 0.999) that way trains with beta1 0.999).
        AdamWOptions o = new AdamWOptions(settings.learningRate());
        o.weight_decay().put(settings.weightDecay());
        this.adam = new AdamW(params, o);
    }

    /** The learning rate at a step (0-based). */
    public double learningRate(long step) {
        if (step < s.warmupSteps()) {
            return s.learningRate() * (step + 1) / s.warmupSteps();
        }
        double progress = Math.min(1, (double) (step - s.warmupSteps()) / Math.max(1, s.totalSteps() - s.warmupSteps()));
        double cos = 0.5 * (1 + Math.cos(Math.PI * progress));
        return s.learningRate() * (s.finalFraction() + (1 - s.finalFraction()) * cos);
    }

    /** Clips the gradients, sets the step's learning rate, updates, and clears the gradients. */
    public void step(long step) {
        try (NoGradGuard g = new NoGradGuard()) {
            double sum = 0;
            for (long i = 0; i < params.size(); i++) {
                Tensor grad = params.get(i).grad();
                if (grad.defined()) {
                    sum += grad.square().sum().item_double();
                }
            }
            lastNorm = Math.sqrt(sum);
            if (s.clipNorm() > 0 && lastNorm > s.clipNorm()) {
                Scalar factor = new Scalar(s.clipNorm() / (lastNorm + 1e-6));
                for (long i = 0; i < params.size(); i++) {
                    Tensor grad = params.get(i).grad();
                    if (grad.defined()) {
                        grad.mul_(factor);
                    }
                }
            }
        }
        double lr = learningRate(step);
        for (long i = 0; i < adam.param_groups().size(); i++) {
            adam.param_groups().get(i).options().set_lr(lr);
        }
        adam.step();
        adam.zero_grad();
    }

    /** The gradient norm of the last step, before clipping. */
    public double lastGradientNorm() {
        return lastNorm;
    }

    public void save(Path file) {
        OutputArchive a = new OutputArchive();
        adam.save(a);
        a.save_to(file.toString());
    }

    public void load(Path file) {
        InputArchive a = new InputArchive();
        a.load_from(file.toString());
        adam.load(a);
    }

    @Override
    public void close() {
        adam.close();
    }
}
