package dev.cnfarm.cli.commands.models;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.models.bundle.BundleManifest;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.bundle.ModelDescription;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code farm models describe}: parameters, operators and FLOPs per graph, computed from the
 * architecture (no weights are read, so describing the full SD1.5 model is instant).
 */
@Command(name = "describe", mixinStandardHelpOptions = true,
        description = "Describe a bundle (or a preset): parameters per graph and component, operators, GFLOP per run at a size.")
public final class DescribeCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "BUNDLE", description = "bundle folder, or a diffusers ONNX export folder")
    Path bundle;

    @Option(names = "--preset", description = "describe a preset instead of a bundle: sd15 or tiny")
    String preset;

    @Option(names = "--controlnets", defaultValue = "1", description = "with --preset: ControlNets in the controlled UNet")
    int controlnets;

    @Option(names = "--width", defaultValue = "512", description = "image width (default ${DEFAULT-VALUE})")
    int width;

    @Option(names = "--height", defaultValue = "512", description = "image height (default ${DEFAULT-VALUE})")
    int height;

    @Option(names = "--batch", defaultValue = "2", description = "UNet batch, 2 with classifier-free guidance (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ModelPreset p;
        int n;
        if (bundle != null && dev.cnfarm.models.interop.DiffusersOnnxModel.looksLike(bundle)) {
            return describeLayout(dev.cnfarm.worker.engine.SdModel.open(bundle));
        }
        if (bundle != null) {
            BundleManifest m = ModelBundle.open(bundle).manifest();
            if (m.preset() == null || m.preset().isEmpty()) {
                throw new IllegalArgumentException("bundle " + m.id() + " (" + m.architecture() + ") was not built from a preset; nothing to describe");
            }
            p = ModelPreset.named(m.preset());
            n = m.controlnets();
        } else if (preset != null) {
            p = ModelPreset.named(preset);
            n = controlnets;
        } else {
            throw new IllegalArgumentException("name a bundle folder or --preset sd15|tiny");
        }
        ModelDescription.Description d = ModelDescription.describe(p, n, batch, width, height);
        PrintWriter out = spec.commandLine().getOut();
        if (bundle != null && !json) {
            out.println("layout and contract: " + dev.cnfarm.worker.engine.SdModel.open(bundle).describe());
        }
        if (json) {
            out.println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(d));
        } else {
            print(out, d);
        }
        out.flush();
        return 0;
    }

    /** A folder in another tool's layout: what the engine will feed it (weights are not read, FLOPs not counted). */
    private int describeLayout(dev.cnfarm.worker.engine.SdModel m) throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            java.util.Map<String, Object> j = new java.util.LinkedHashMap<>();
            j.put("id", m.id());
            j.put("layout", m.layout());
            j.put("unet", m.unetContract());
            j.put("text_encoder", m.text());
            j.put("vae_decoder", m.vae());
            j.put("controlnets", m.controlSlots());
            j.put("controlled_unet", m.controlledUnet() == null ? null : m.controlledContract());
            j.put("context_dim", m.contextDim());
            j.put("vae_scaling_factor", m.vaeScalingFactor());
            j.put("scheduler", m.schedulerConfig());
            out.println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(j));
        } else {
            out.printf("model %s, layout %s%n", m.id(), m.layout());
            out.println("  unet:         " + m.unetContract().describe());
            out.println("  text encoder: " + m.text().describe());
            out.println("  vae decoder:  " + m.vae().describe());
            if (m.controlledUnet() != null) {
                out.println("  merged UNet with " + m.controlSlots() + " ControlNet(s) (" + m.controlledUnet() + "): "
                        + m.controlledContract().describe());
            }
            out.printf("  context width %d, VAE scaling %.5f, scheduler %s betas %s..%s, steps offset %d%n", m.contextDim(),
                    m.vaeScalingFactor(), m.schedulerConfig().betaSchedule(), m.schedulerConfig().betaStart(),
                    m.schedulerConfig().betaEnd(), m.schedulerConfig().stepsOffset());
        }
        out.flush();
        return 0;
    }

    private static void print(PrintWriter out, ModelDescription.Description d) {
        out.printf("preset %s, %d ControlNet(s); FLOPs at %dx%d, UNet batch %d (text encoder and VAE batch 1)%n%n",
                d.preset(), d.controlnets(), d.width(), d.height(), d.batch());
        out.printf("%-16s %16s %8s %12s   %s%n", "graph", "parameters", "tensors", "GFLOP/run", "by component");
        for (ModelDescription.GraphStats g : d.graphs()) {
            String parts = g.paramsByComponent().entrySet().stream().map(e -> e.getKey() + " " + String.format("%,d", e.getValue()))
                    .collect(Collectors.joining(", "));
            out.printf("%-16s %,16d %8d %12.1f   %s%n", g.role(), g.params(), g.paramTensors(), g.gflops(), parts);
        }
        for (ModelDescription.GraphStats g : d.graphs()) {
            if (g.role().equals("controlnet")) {
                out.printf("%nControlNet residuals at %dx%d:%n", d.width(), d.height());
                g.outputShapes().forEach((name, shape) -> out.printf("  %-32s %s%n", name, shape));
            }
        }
        out.printf("%noperators per graph (as built, before ONNX Runtime fuses them):%n");
        for (ModelDescription.GraphStats g : d.graphs()) {
            String ops = g.operators().entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder()))
                    .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
            out.printf("  %-16s %s%n", g.role(), ops);
        }
    }
}
