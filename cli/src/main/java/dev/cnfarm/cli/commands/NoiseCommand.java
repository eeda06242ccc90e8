package dev.cnfarm.cli.commands;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.worker.engine.noise.NoiseKind;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code farm noise}: the numbers a noise generator makes for a seed, to compare with another tool's
 * (for torch_cpu: {@code torch.manual_seed(S); torch.randn(SHAPE)}, K times).
 */
@Command(name = "noise", mixinStandardHelpOptions = true,
        description = {"Print the noise a generator makes for a seed: K consecutive draws of SHAPE (the first is an image's starting "
                + "latent before it is scaled, the next ones what an ancestral sampler draws step by step).",
                "torch_cpu gives what torch.manual_seed(SEED) then torch.randn(SHAPE) calls give in PyTorch; cuda_philox what they give "
                        + "on an NVIDIA GPU (A1111's NV source); farm is the farm's own default generator."})
public final class NoiseCommand implements Callable<Integer> {
    @Option(names = "--generator", defaultValue = "torch_cpu", description = "farm, torch_cpu or cuda_philox (default ${DEFAULT-VALUE})")
    String generator;

    @Option(names = "--seed", required = true, description = "the seed")
    long seed;

    @Option(names = "--shape", defaultValue = "1,4,64,64", split = ",", description = "the draw's shape (default ${DEFAULT-VALUE}: "
            + "one 512x512 latent)")
    List<Integer> shape;

    @Option(names = "--draws", defaultValue = "1", description = "consecutive draws (default ${DEFAULT-VALUE})")
    int draws;

    @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text (the first 8 values of each draw, mean and "
            + "standard deviation) or json (every value)")
    String output;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        NoiseKind kind;
        try {
            kind = NoiseKind.of(generator);
        } catch (IllegalArgumentException e) {
            err.println("--generator: " + e.getMessage());
            return 2;
        }
        long count = 1;
        for (int d : shape) {
            if (d < 1) {
                err.println("--shape: every dimension must be at least 1, got " + shape);
                return 2;
            }
            count *= d;
        }
        if (count > 64L << 20 || draws < 1 || draws > 1000) {
            err.println("--shape and --draws: at most 67,108,864 values a draw and 1 to 1000 draws, got " + count + " values and " + draws
                    + " draws");
            return 2;
        }
        if (!output.equals("text") && !output.equals("json")) {
            err.println("--output must be text or json, got " + output);
            return 2;
        }
        NoiseKind.ImageNoise noise = kind.forSeed(seed);
        List<float[]> all = new ArrayList<>();
        for (int k = 0; k < draws; k++) {
            all.add(k == 0 ? noise.initial((int) count, 1) : noise.gaussian((int) count, k - 1));
        }
        if (output.equals("json")) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("generator", generator);
            j.put("seed", seed);
            j.put("shape", shape);
            j.put("draws", all);
            try {
                out.println(Json.mapper().writeValueAsString(j));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        } else {
            for (int k = 0; k < all.size(); k++) {
                float[] v = all.get(k);
                double mean = 0;
                for (float x : v) {
                    mean += x;
                }
                mean /= v.length;
                double var = 0;
                for (float x : v) {
                    var += (x - mean) * (x - mean);
                }
                StringBuilder first = new StringBuilder();
                for (int i = 0; i < Math.min(8, v.length); i++) {
                    first.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.4f", v[i]));
                }
                out.printf(Locale.ROOT, "draw %d: %s%s (mean %.4f, std %.4f, %d values)%n", k + 1, first, v.length > 8 ? ", ..." : "", mean,
                        Math.sqrt(var / v.length), v.length);
            }
        }
        out.flush();
        return 0;
    }
}
