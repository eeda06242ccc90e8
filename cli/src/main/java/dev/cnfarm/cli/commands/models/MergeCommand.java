package dev.cnfarm.cli.commands.models;

import dev.cnfarm.models.interop.ControlNetMerge;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code farm models merge}: a split ControlNet + residual UNet pair composed into one graph. */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge a ControlNet graph and a UNet that takes its residuals into one graph (inputs sample, timestep, "
                + "encoder_hidden_states, controlnet_cond, conditioning_scale): one session run a step, no residuals through the host.")
public final class MergeCommand implements Callable<Integer> {
    @Option(names = "--controlnet", required = true, paramLabel = "FILE", description = "the ControlNet graph (controlnet/model.onnx)")
    Path controlnet;

    @Option(names = "--unet", required = true, paramLabel = "FILE", description = "the UNet taking down_block_*_additional_residual inputs")
    Path unet;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "the merged graph to write; external weight files go beside it")
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (Files.exists(out)) {
            throw new IllegalArgumentException("--out " + out + " exists; choose a new file");
        }
        long t0 = System.nanoTime();
        ControlNetMerge.mergeFiles(controlnet, unet, out);
        spec.commandLine().getOut().printf("merged %s and %s into %s (%,d bytes) in %.1f s%n", controlnet, unet, out, Files.size(out),
                (System.nanoTime() - t0) / 1e9);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
