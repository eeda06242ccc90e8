package dev.cnfarm.trainer.train;

import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.trainer.torch.ParameterStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Runs one training stage: the step loop with its optimiser, moving average, checkpoints every
 * so many steps and at the end, resumption from the last checkpoint (weights, optimiser state,
 * average, step and loss history), progress reports and the loss curve. What a step computes is
 * the stage's own ({@link StepLoss}); every random draw of a step must depend only on the run's
 * seed and the step, so a resumed run is the same run.
 */
public final class StageRunner {
    /**
     * The loss of one micro-batch, computed with autograd; native memory made inside is released
     * after it. {@code draw} numbers the micro-batches of the run (step x accumulation + micro), so
     * a micro-batch's random draws can depend on it alone.
     */
    @FunctionalInterface
    public interface StepLoss {
        Tensor loss(long draw);
    }

    /**
     * @param accumulation micro-batches whose gradients are summed before each optimiser step (1: none);
     *                     each micro-batch's loss is divided by it, so the step sees their mean
     */
    public record Settings(String stage, int steps, int checkpointEvery, Optimiser.Settings optimiser, double emaDecay, int accumulation) {
        public Settings(String stage, int steps, int checkpointEvery, Optimiser.Settings optimiser, double emaDecay) {
            this(stage, steps, checkpointEvery, optimiser, emaDecay, 1);
        }
    }

    /**
     * Parameters of a locked component that join the training from a step on, with an optimiser and
     * learning rate of their own: the ControlNet paper's large-scale regime, where the base's
     * decoder is unlocked after a number of steps and trained with the ControlNet at a lower rate.
     *
     * @param atStep     the first step (0-based) that trains them
     * @param parameters their graph names
     */
    public record Joining(long atStep, List<String> parameters, double learningRate) {}

    private final Settings s;
    private final ParameterStore store;
    private final List<String> trained;
    private final Path checkpointDir;
    private final TrainingListener listener;
    private final List<double[]> losses = new ArrayList<>();
    /** Seconds spent on this stage by earlier runs (from the checkpoint resumed). */
    private double priorSeconds;
    private long startNanos;
    private java.util.function.LongConsumer beforeOptimiserStep = step -> { };
    private java.util.function.LongConsumer afterCheckpoint = step -> { };
    private java.util.function.Predicate<RuntimeException> checkpointWhenStoppedBy = e -> false;
    private Joining joining;
    /** The joining parameters' optimiser, once they train. */
    private Optimiser joined;

    public StageRunner(Settings settings, ParameterStore store, List<String> trainedComponents, Path checkpointDir, TrainingListener listener) {
        this.s = settings;
        this.store = store;
        this.trained = List.copyOf(trainedComponents);
        this.checkpointDir = checkpointDir;
        this.listener = listener;
    }

    /** Called before each optimiser step, with the gradients in place (tests look at them). */
    public StageRunner beforeOptimiserStep(java.util.function.LongConsumer hook) {
        this.beforeOptimiserStep = hook;
        return this;
    }

    /**
     * The listener's exceptions that stop the run after a checkpoint of the step just made (a
     * drained trainer giving its task back keeps its work); others stop it at once.
     */
    public StageRunner checkpointWhenStoppedBy(java.util.function.Predicate<RuntimeException> stop) {
        this.checkpointWhenStoppedBy = stop;
        return this;
    }

    /** Parameters that join the training at a step ({@link Joining}); null for none. */
    public StageRunner join(Joining j) {
        this.joining = j;
        return this;
    }

    /** Called after each checkpoint is written (sample grids and evaluations hang here). */
    public StageRunner afterCheckpoint(java.util.function.LongConsumer hook) {
        this.afterCheckpoint = hook;
        return this;
    }

    /** Runs (or resumes) the stage to its last step. The store's parameters must exist (run one forward pass first). */
    public Result run(StepLoss stepLoss) {
        try (Optimiser opt = new Optimiser(store.parameters(trained.toArray(new String[0])), s.optimiser());
             Ema ema = s.emaDecay() > 0 ? new Ema(store, trained, s.emaDecay()) : null) {
            long start = 0;
            Path existing = Checkpoint.resolve(checkpointDir);
            if (Checkpoint.exists(existing)) {
                Checkpoint.State st = Checkpoint.readState(existing);
                if (!st.stage().equals(s.stage())) {
                    throw new IllegalStateException(existing + " is a checkpoint of stage " + st.stage() + ", not " + s.stage());
                }
                Map<String, float[]> w = Checkpoint.readTensors(existing.resolve(Checkpoint.WEIGHTS));
                for (ParamSpec p : trainedSpecs()) {
                    float[] v = w.get(p.onnxName());
                    if (v == null) {
                        throw new IllegalStateException(existing + " has no weights for " + p.onnxName() + ": it belongs to another model");
                    }
                    store.set(p.onnxName(), v);
                }
                opt.load(existing.resolve(Checkpoint.OPTIMIZER));
                if (joining != null && st.step() > joining.atStep()) {
                    startJoined();
                    for (String name : joining.parameters()) {
                        float[] v = w.get(name);
                        if (v == null) {
                            throw new IllegalStateException(existing + " has no weights for " + name + ", which trains from step "
                                    + joining.atStep() + ": the checkpoint was written by another regime");
                        }
                        store.set(name, v);
                    }
                    joined.load(existing.resolve(Checkpoint.JOINED_OPTIMIZER));
                }
                if (ema != null) {
                    ema.restore(Checkpoint.readTensors(existing.resolve(Checkpoint.EMA)), st.emaUpdates());
                }
                losses.addAll(st.losses());
                start = st.step();
                if (st.extra() != null && st.extra().get("seconds") instanceof Number n) {
                    priorSeconds = n.doubleValue();
                }
                listener.note(s.stage() + ": resumed from the checkpoint at step " + start);
            }
            listener.stageStarted(s.stage(), start, s.steps());
            long t0 = System.nanoTime();
            startNanos = t0;
            double rate = 0;
            for (long step = start; step < s.steps(); step++) {
                if (joining != null && joined == null && step >= joining.atStep()) {
                    startJoined();
                    listener.note(s.stage() + ": from step " + step + " " + joining.parameters().size() + " more parameters train, at "
                            + "learning rate " + joining.learningRate());
                }
                double loss = 0;
                int acc = Math.max(1, s.accumulation());
                for (int micro = 0; micro < acc; micro++) {
                    try (PointerScope scope = new PointerScope()) {
                        Tensor l = stepLoss.loss(step * acc + micro);
                        double v = l.item_double();
                        if (!Double.isFinite(v)) {
                            throw new IllegalStateException(s.stage() + ": the loss is " + v + " at step " + step
                                    + "; lower the learning rate or check the data");
                        }
                        loss += v / acc;
                        (acc == 1 ? l : l.div(new org.bytedeco.pytorch.Scalar((double) acc))).backward();
                    }
                }
                try (PointerScope scope = new PointerScope()) {
                    beforeOptimiserStep.accept(step);
                    opt.step(step);
                    if (joined != null) {
                        joined.step(step - joining.atStep());
                    }
                }
                if (ema != null) {
                    ema.update();
                }
                losses.add(new double[] {step + 1, loss});
                long done = step + 1 - start;
                rate = done / ((System.nanoTime() - t0) / 1e9);
                boolean due = (step + 1) % s.checkpointEvery() == 0 || step + 1 == s.steps();
                try {
                    listener.step(s.stage(), step + 1, s.steps(), loss, opt.learningRate(step), rate);
                } catch (RuntimeException stop) {
                    if (!due && checkpointWhenStoppedBy.test(stop)) {
                        save(step + 1, opt, ema);
                        afterCheckpoint.accept(step + 1);
                    }
                    throw stop;
                }
                if (due) {
                    save(step + 1, opt, ema);
                    afterCheckpoint.accept(step + 1);
                }
            }
            Map<String, float[]> finalWeights = ema != null ? ema.values() : currentWeights();
            if (ema != null && joined != null) {
                finalWeights = new LinkedHashMap<>(finalWeights);
                for (String name : joining.parameters()) {
                    finalWeights.put(name, store.values(name)); // the average covers the trained components only
                }
            }
            // a run resumed at its last step trained nothing itself: its rate is the stage's over every run
            double secs = seconds();
            return new Result(finalWeights, List.copyOf(losses), rate > 0 ? rate : losses.size() / Math.max(secs, 1e-9), secs);
        } finally {
            if (joined != null) {
                joined.close();
                joined = null;
            }
        }
    }

    /**
     * What a stage produced: the weights to keep (the moving average when there is one), the loss
     * history, steps per second of this run, and the stage's training seconds across runs.
     */
    public record Result(Map<String, float[]> weights, List<double[]> losses, double stepsPerSecond, double seconds) {
        /** The mean loss of the last {@code n} steps. */
        public double finalLoss(int n) {
            return losses.subList(Math.max(0, losses.size() - n), losses.size()).stream().mapToDouble(l -> l[1]).average().orElse(Double.NaN);
        }
    }

    /** Training time of the stage so far, across resumed runs. */
    private double seconds() {
        return priorSeconds + (System.nanoTime() - startNanos) / 1e9;
    }

    private List<ParamSpec> trainedSpecs() {
        return store.specs().stream().filter(p -> trained.contains(p.component())).toList();
    }

    /** The joining parameters' gradients on, with their own AdamW (warm-up counted from the step they join). */
    private void startJoined() {
        org.bytedeco.pytorch.TensorVector params = new org.bytedeco.pytorch.TensorVector();
        for (String name : joining.parameters()) {
            Tensor t = store.tensor(name);
            t.requires_grad_(true);
            params.push_back(t);
        }
        Optimiser.Settings o = s.optimiser();
        joined = new Optimiser(params, new Optimiser.Settings(joining.learningRate(), o.warmupSteps(),
                (int) Math.max(1, s.steps() - joining.atStep()), o.finalFraction(), o.weightDecay(), o.clipNorm()));
    }

    private Map<String, float[]> currentWeights() {
        Map<String, float[]> w = new LinkedHashMap<>();
        for (ParamSpec p : trainedSpecs()) {
            w.put(p.onnxName(), store.values(p.onnxName()));
        }
        if (joined != null) {
            for (String name : joining.parameters()) {
                w.put(name, store.values(name));
            }
        }
        return w;
    }

    private Map<String, long[]> currentShapes() {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (ParamSpec p : trainedSpecs()) {
            shapes.put(p.onnxName(), p.shape());
        }
        if (joined != null) {
            java.util.Set<String> names = new java.util.HashSet<>(joining.parameters());
            for (ParamSpec p : store.specs()) {
                if (names.contains(p.onnxName())) {
                    shapes.put(p.onnxName(), p.shape());
                }
            }
        }
        return shapes;
    }

    private void save(long step, Optimiser opt, Ema ema) {
        Checkpoint.write(checkpointDir, new Checkpoint.State(s.stage(), step, s.steps(), ema == null ? 0 : ema.updates(),
                List.copyOf(losses), Map.of("seconds", seconds())), currentWeights(), currentShapes(), ema == null ? null : ema.values(), opt,
                joined);
        listener.note(s.stage() + ": checkpoint at step " + step + " in " + checkpointDir);
    }
}
