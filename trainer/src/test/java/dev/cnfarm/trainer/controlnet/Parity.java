package dev.cnfarm.trainer.controlnet;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.bundle.TrainedModels;
import dev.cnfarm.models.weights.SafetensorsFile;
import dev.cnfarm.trainer.torch.Ort;
import dev.cnfarm.trainer.torch.ParameterStore;
import dev.cnfarm.trainer.torch.Torch;
import dev.cnfarm.trainer.torch.TorchNn;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/** A published ControlNet computes in the bundle's controlled UNet (ONNX Runtime) what it computes in libtorch. */
final class Parity {
    private Parity() {}

    /** The relative error of the bundle's controlled UNet against libtorch, on the model folder's (fp16) weights. */
    static double controlledUNetError(Path modelFolder, ModelBundle bundle, int side) throws Exception {
        ModelPreset preset = ModelPreset.read(modelFolder.resolve(TrainedModels.MODEL_JSON));
        Map<String, float[]> w = new HashMap<>();
        for (String c : List.of(ModelGraphs.UNET, ModelGraphs.TEXT_ENCODER, ModelGraphs.controlnetComponent(0))) {
            try (SafetensorsFile f = SafetensorsFile.open(modelFolder.resolve(c + ".safetensors"))) {
                f.tensors().keySet().forEach(k -> w.put(c + "." + k, f.readFloats(k)));
            }
        }
        int image = side * preset.controlnet().imageToLatentFactor();
        int d = preset.unet().crossAttentionDim();
        SplittableRandom rnd = new SplittableRandom(11);
        float[] sample = new float[2 * 4 * side * side];
        float[] context = new float[2 * 77 * d];
        float[] control = new float[2 * 3 * image * image];
        Arrays.setAll(new int[sample.length], i -> {
            sample[i] = (float) rnd.nextGaussian();
            return 0;
        });
        Arrays.setAll(new int[context.length], i -> {
            context[i] = (float) rnd.nextGaussian();
            return 0;
        });
        for (int i = 0; i < control.length; i++) {
            control[i] = rnd.nextDouble() < 0.1 ? 1f : 0f;
        }
        float[] t = {500f};
        int residuals = dev.cnfarm.models.arch.UNet.residualCount(preset.unet()) + 1;
        float[] scales = new float[2 * residuals];
        Arrays.fill(scales, 1f);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[] onnx;
        try (OrtSession s = env.createSession(bundle.graph(BundleBuilder.CONTROLLED_UNET).toString());
             OnnxTensor a = OnnxTensor.createTensor(env, FloatBuffer.wrap(sample), new long[] {2, 4, side, side});
             OnnxTensor b = OnnxTensor.createTensor(env, FloatBuffer.wrap(t), new long[] {1});
             OnnxTensor c = OnnxTensor.createTensor(env, FloatBuffer.wrap(context), new long[] {2, 77, d});
             OnnxTensor e = OnnxTensor.createTensor(env, FloatBuffer.wrap(control), new long[] {1, 2, 3, image, image});
             OnnxTensor f = OnnxTensor.createTensor(env, FloatBuffer.wrap(scales), new long[] {1, 2, residuals});
             OrtSession.Result r = s.run(Map.of(ModelGraphs.SAMPLE, a, ModelGraphs.TIMESTEP, b, ModelGraphs.CONTEXT, c,
                     ModelGraphs.CONTROL_IMAGES, e, ModelGraphs.CONTROL_SCALES, f))) {
            FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
            onnx = new float[fb.remaining()];
            fb.get(onnx);
        }
        try (ParameterStore store = new ParameterStore(spec -> w.get(spec.onnxName()));
             PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            TorchNn nn = new TorchNn(store);
            Tensor out = ControlNetTraining.controlledUNet(nn, preset, Torch.floats(sample, 2, 4, side, side), Torch.floats(new float[] {500, 500}, 2),
                    Torch.floats(context, 2, 77, d), Torch.floats(control, 2, 3, image, image), true);
            float[] torchOut = Torch.toFloats(out);
            // and the ControlNet changes the output: this compared a working ControlNet, not zero residuals
            Tensor plain = dev.cnfarm.models.arch.UNet.forward(nn, ModelGraphs.UNET, Torch.floats(sample, 2, 4, side, side),
                    Torch.floats(new float[] {500, 500}, 2), Torch.floats(context, 2, 77, d), preset.unet(), null, null);
            if (Ort.relativeError(Torch.toFloats(plain), torchOut) < 1e-6) {
                throw new AssertionError("the trained ControlNet changes nothing");
            }
            return Ort.relativeError(torchOut, onnx);
        }
    }
}
