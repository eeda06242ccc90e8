package dev.cnfarm.cli.commands.models;

import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.interop.Contracts;
import dev.cnfarm.models.interop.DiffusersOnnxExport;
import dev.cnfarm.models.interop.DiffusersOnnxModel;
import dev.cnfarm.models.interop.TensorType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code farm models export}: a bundle in the diffusers/optimum ONNX folder layout, for other tools. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a bundle in the diffusers/optimum ONNX layout (model_index.json, text_encoder/, unet/, vae_decoder/, "
                + "vae_encoder/, tokenizer/, scheduler/), so other tools can run it.")
public final class ExportCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "BUNDLE", description = "bundle folder")
    Path bundle;

    @Parameters(index = "1", paramLabel = "DIR", description = "new folder to write (must not exist, or be empty)")
    Path out;

    @Option(names = "--layout", defaultValue = DiffusersOnnxModel.LAYOUT, description = "only diffusers-onnx for now")
    String layout;

    @Option(names = "--timestep-type", defaultValue = "int64", description = "int64, int32, float32 or float16 (default ${DEFAULT-VALUE})")
    String timestepType;

    @Option(names = "--timestep-shape", defaultValue = "1", description = "1 ([1]), scalar or batch ([batch]) (default ${DEFAULT-VALUE})")
    String timestepShape;

    @Option(names = "--ids-type", defaultValue = "int32", description = "text encoder input_ids: int32 or int64 (default ${DEFAULT-VALUE})")
    String idsType;

    @Option(names = "--io-type", defaultValue = "float32",
            description = "float inputs and outputs: float32 or float16 (weights and arithmetic stay as in the bundle) (default ${DEFAULT-VALUE})")
    String ioType;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (!layout.equals(DiffusersOnnxModel.LAYOUT)) {
            throw new IllegalArgumentException("--layout " + layout + " is not known; use " + DiffusersOnnxModel.LAYOUT);
        }
        Contracts.TimestepShape shape = switch (timestepShape.toLowerCase(Locale.ROOT)) {
            case "1", "one", "[1]" -> Contracts.TimestepShape.ONE;
            case "scalar" -> Contracts.TimestepShape.SCALAR;
            case "batch", "[batch]" -> Contracts.TimestepShape.BATCH;
            default -> throw new IllegalArgumentException("--timestep-shape " + timestepShape + " is not known; use 1, scalar or batch");
        };
        DiffusersOnnxExport.Options o = new DiffusersOnnxExport.Options(TensorType.parse(timestepType), shape, TensorType.parse(idsType),
                TensorType.parse(ioType));
        long t0 = System.nanoTime();
        DiffusersOnnxModel m = DiffusersOnnxExport.export(ModelBundle.open(bundle), out, o);
        PrintWriter w = spec.commandLine().getOut();
        w.printf("exported %s to %s in %.1f s (%s)%n", bundle, out, (System.nanoTime() - t0) / 1e9, o.describe());
        w.println(m.describeContract());
        w.flush();
        return 0;
    }
}
