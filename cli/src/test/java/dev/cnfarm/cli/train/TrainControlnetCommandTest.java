package dev.cnfarm.cli.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.cli.FarmCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code farm train controlnet JOB}: a bad job is refused naming its fields, before anything is read or trained. */
class TrainControlnetCommandTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {}

    private static Run farm(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = FarmCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return new Run(cl.execute(args), out.toString(), err.toString());
    }

    @Test
    void aJobFileWithBadFieldsIsRefusedNamingEachAndWritesNothing() throws Exception {
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, "name: shapes/canny\nbase: trained/shapes\ncondition: canny\nsteps: many\nlinks: small-scale\nlr: 1\n");
        Path work = dir.resolve("work");
        Run r = farm("train", "controlnet", job.toString(), "--work", work.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("name:").contains("dataset: is required").contains("steps: must be a whole number")
                .contains("reconnect_at:").contains("lr: unknown field");
        assertThat(work).doesNotExist();
    }

    @Test
    void optionsOverrideTheJobFile() throws Exception {
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, "name: x\nbase: nowhere\ndataset: data/manifest.csv\ncondition: canny\nbatch: 0\n");
        Run r = farm("train", "controlnet", job.toString(), "--work", dir.resolve("w").toString(), "--batch", "4");
        // the batch is fixed by the option; what is left is the missing base folder
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).doesNotContain("batch").contains("nowhere");
    }

    @Test
    void trainingHereNeedsAWorkFolderAndSaysHowToTrainOnTheFarmInstead() throws Exception {
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, "name: x\nbase: trained/shapes\ndataset: data/manifest.csv\ncondition: canny\n");
        Run r = farm("train", "controlnet", job.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--work is required").contains("--submit");
    }
}
