package dev.cnfarm.cli.eval;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.bundle.BundleBuilder;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.trainer.data.ShapeScene;
import dev.cnfarm.trainer.data.ShapesDataset;
import java.nio.FloatBuffer;
import java.util.Map;

/**
 * The VAE of a bundle on pictures it was not trained on: each image of a fresh shapes set (another
 * seed, every colour/shape pair) encoded to its latent mean and decoded again by the bundle's own
 * ONNX graphs, PSNR over 8-bit pixels.
 */
public final class VaeEvaluation {
    private VaeEvaluation() {}

    public static double psnr(ModelBundle bundle, int count, int size, long seed) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double se = 0;
        long n = 0;
        try (OrtSession enc = env.createSession(bundle.graph(BundleBuilder.VAE_ENCODER).toString());
             OrtSession dec = env.createSession(bundle.graph(BundleBuilder.VAE_DECODER).toString())) {
            for (int i = 0; i < count; i++) {
                ShapeScene s = ShapesDataset.scene(seed, ShapesDataset.Split.ALL, size, i);
                int[] rgb = s.render();
                float[] chw = new dev.cnfarm.trainer.data.Images.Rgb(size, size, rgb).chw(-1, 1);
                float[] rec;
                try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(chw), new long[] {1, 3, size, size});
                     OrtSession.Result mean = enc.run(Map.of(ModelGraphs.SAMPLE, x));
                     OrtSession.Result out = dec.run(Map.of(ModelGraphs.LATENT_SAMPLE, (OnnxTensor) mean.get(0)))) {
                    FloatBuffer fb = ((OnnxTensor) out.get(0)).getFloatBuffer();
                    rec = new float[fb.remaining()];
                    fb.get(rec);
                }
                for (int k = 0; k < chw.length; k++) {
                    double a = Math.round(Math.max(0, Math.min(255, (chw[k] + 1) * 127.5)));
                    double b = Math.round(Math.max(0, Math.min(255, (rec[k] + 1) * 127.5)));
                    se += (a - b) * (a - b);
                    n++;
                }
            }
        }
        return 10 * Math.log10(255.0 * 255.0 / Math.max(se / n, 1e-12));
    }
}
