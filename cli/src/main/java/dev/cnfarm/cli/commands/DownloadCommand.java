package dev.cnfarm.cli.commands;

import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.cli.OutputOptions;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.cli.client.OutputDownloader;
import dev.cnfarm.common.json.Json;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code farm download JOB DIR}: fetch the job's finished images, checked by sha256; files already there are skipped. */
@Command(name = "download", mixinStandardHelpOptions = true,
        description = "Download a job's finished images into a folder (verified by sha256; files already there are skipped).")
public final class DownloadCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Parameters(index = "0", paramLabel = "JOB", description = "job id")
    String jobId;

    @Parameters(index = "1", paramLabel = "DIR", description = "target folder")
    Path dir;

    @Option(names = "--parallel", defaultValue = "8", description = "downloads at a time (default ${DEFAULT-VALUE})")
    int parallel;

    @Mixin
    OutputOptions output;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        FarmClient client = FarmClient.of(options.load());
        OutputDownloader.Summary s = new OutputDownloader(client, parallel).download(jobId, dir, !output.json());
        if (output.json()) {
            var node = Json.mapper().createObjectNode();
            node.put("job_id", jobId).put("dir", dir.toString()).put("downloaded", s.downloaded()).put("skipped", s.skipped())
                    .put("bytes", s.bytes());
            OutputOptions.printJson(spec.commandLine().getOut(), node);
        } else {
            spec.commandLine().getOut().printf("%d image(s) downloaded to %s (%d KiB), %d already there%n", s.downloaded(), dir,
                    s.bytes() / 1024, s.skipped());
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}
