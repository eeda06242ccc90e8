package dev.cnfarm.worker.render;

import java.util.Arrays;
import java.util.Map;

/**
 * A stand-in for a GPU in load and fault tests: each step takes a fixed time and does no model
 * work, so what a test measures is the farm's own cost (scheduling, Kafka, S3, events), and many
 * simulated workers fit on one small machine. It still reports progress per step, can be stopped
 * between steps, and returns a flat image whose shade comes from the seed, so outputs differ.
 * Not final, so fault tests can give it a model's failures (a batch that runs out of memory).
 */
public class SimulatedRenderer implements Renderer {
    public static final String MODEL_ID = "simulated";

    private final long msPerStep;

    public SimulatedRenderer(long msPerStep) {
        this.msPerStep = msPerStep;
    }

    @Override
    public RenderOutput render(RenderRequest req, StepListener listener) {
        long t0 = System.nanoTime();
        for (int step = 1; step <= req.steps(); step++) {
            try {
                Thread.sleep(msPerStep);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("simulated render interrupted", e);
            }
            listener.onStep(step, req.steps(), null);
        }
        float[] rgb = new float[3 * req.width() * req.height()];
        Arrays.fill(rgb, Math.floorMod(req.seed(), 256) / 255f);
        return new RenderOutput(rgb, Map.of("steps", (System.nanoTime() - t0) / 1_000_000), 0);
    }

    @Override
    public String modelId() {
        return MODEL_ID;
    }

    @Override
    public String executionProvider() {
        return "SIMULATED";
    }

    @Override
    public int controlSlots() {
        return 1;
    }

    @Override
    public void close() {
    }
}
