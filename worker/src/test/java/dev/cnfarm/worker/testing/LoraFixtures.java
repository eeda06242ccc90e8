package dev.cnfarm.worker.testing;

import dev.cnfarm.models.onnx.ParamSpec;
import dev.cnfarm.models.weights.SafetensorsWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** LoRA files in kohya's layout for the layers of a model, with random up and down matrices: what a test merges. */
public final class LoraFixtures {
    private LoraFixtures() {}

    /** The attention projections of the UNet and the text encoder's query projections: layers every LoRA trainer adapts. */
    public static boolean attention(ParamSpec p) {
        return p.key().endsWith(".weight") && (p.key().matches(".*attn[12]\\.to_(q|k|v|out\\.0)\\.weight")
                || p.key().endsWith("self_attn.q_proj.weight"));
    }

    /**
     * Writes a kohya LoRA of {@code rank} (alpha = rank, so scale 1) for the given parameters.
     *
     * @param magnitude the entries' range: large enough to change an image visibly
     */
    public static Path kohya(Path file, List<ParamSpec> layers, int rank, long seed, float magnitude) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        for (ParamSpec p : layers) {
            long out = p.shape()[0];
            long inKernel = p.count() / out;
            long[] down = p.shape().length == 4 ? new long[] {rank, p.shape()[1], p.shape()[2], p.shape()[3]} : new long[] {rank, p.shape()[1]};
            long[] up = p.shape().length == 4 ? new long[] {out, rank, 1, 1} : new long[] {out, rank};
            String module = (p.component().equals("unet") ? "lora_unet_" : "lora_te_")
                    + p.key().substring(0, p.key().length() - ".weight".length()).replace('.', '_');
            t.put(module + ".lora_down.weight", new SafetensorsWriter.Tensor(down, random(r, (int) (rank * inKernel), magnitude)));
            t.put(module + ".lora_up.weight", new SafetensorsWriter.Tensor(up, random(r, (int) (out * rank), magnitude)));
            t.put(module + ".alpha", new SafetensorsWriter.Tensor(new long[] {}, new float[] {rank}));
        }
        SafetensorsWriter.write(file, t, "F32", Map.of());
        return file;
    }

    private static float[] random(SplittableRandom r, int n, float magnitude) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((r.nextDouble() * 2 - 1) * magnitude);
        }
        return v;
    }
}
