package dev.cnfarm.worker.render;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.skeleton.SkeletonBundle;
import dev.cnfarm.models.skeleton.SkeletonModel;
import java.nio.FloatBuffer;
import java.util.Map;

/**
 * Renders with the walking skeleton's placeholder model: one session run per step, the noise
 * level falling linearly from 1 to a floor of 0.5, each run reading the previous run's output
 * blended with the seed's noise. It does real ONNX Runtime work per step so that progress, timing
 * and throughput behave like the real engine's; the images mean nothing beyond showing the
 * control image and the seed's grain.
 */
public final class SkeletonRenderer implements Renderer {
    private final OrtEnvironment env;
    private final OrtSession session;
    private final String modelId;

    public SkeletonRenderer(ModelBundle bundle) {
        this.env = OrtEnvironment.getEnvironment();
        this.modelId = bundle.manifest().id();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            this.session = env.createSession(bundle.graph(SkeletonBundle.DENOISER).toString(), options);
        } catch (OrtException e) {
            throw new IllegalStateException("cannot load model " + modelId + ": " + e.getMessage(), e);
        }
    }

    @Override
    public RenderOutput render(RenderRequest req, StepListener listener) {
        int n = 3 * req.width() * req.height();
        if (req.controls().isEmpty() || req.controls().get(0).image().length != n) {
            throw new BadInputException("the placeholder model needs one control image of " + req.width() + "x" + req.height());
        }
        long t0 = System.nanoTime();
        long[] shape = {1, 3, req.height(), req.width()};
        float[] noise = SeededNoise.gaussian(req.seed(), n);
        float[] current = noise.clone();
        float[] image = null;
        try (OnnxTensor control = OnnxTensor.createTensor(env, FloatBuffer.wrap(req.controls().get(0).image()), shape)) {
            for (int step = 1; step <= req.steps(); step++) {
                // the noise level falls from 1 to a floor of 0.5, so the seed still shows in the final image
                float level = Math.max(0.5f, 1f - (step - 1f) / req.steps());
                try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(current), shape);
                     OnnxTensor l = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {level}), new long[] {1});
                     OrtSession.Result r = session.run(Map.of(SkeletonModel.INPUT_CONTROL, control,
                             SkeletonModel.INPUT_NOISE, x, SkeletonModel.INPUT_NOISE_LEVEL, l))) {
                    FloatBuffer out = ((OnnxTensor) r.get(SkeletonModel.OUTPUT_IMAGE).orElseThrow()).getFloatBuffer();
                    image = new float[n];
                    out.get(image);
                }
                // next step sees this step's image, mapped back to zero mean, mixed with the seed's noise
                for (int i = 0; i < n; i++) {
                    current[i] = 0.5f * noise[i] + (image[i] - 0.5f) * 2f;
                }
                listener.onStep(step, req.steps(), null);
            }
        } catch (OrtException e) {
            if (RenderOutOfMemoryException.isAllocationFailure(e.getMessage())) {
                throw RenderOutOfMemoryException.of(modelId, req.width(), req.height(), 1, e.getMessage(), 0, e);
            }
            throw new BadInputException("model " + modelId + " refused the input: " + e.getMessage(), e);
        }
        return new RenderOutput(image, java.util.Map.of("steps", (System.nanoTime() - t0) / 1_000_000), req.steps());
    }

    @Override
    public int controlSlots() {
        return 1;
    }

    @Override
    public String modelId() {
        return modelId;
    }

    @Override
    public String executionProvider() {
        return "CPU";
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            // the session's native memory is released either way
        }
    }
}
