package dev.cnfarm.cli.commands;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.cli.FarmCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class WorkerCommandTest {
    @Test
    void aNegativeSimulatedStepTimeIsAUsageErrorNamingTheOption() {
        CommandLine cli = FarmCommand.commandLine();
        StringWriter err = new StringWriter();
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("worker", "--simulated-gpu-ms", "-5");
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("--simulated-gpu-ms must be 0 or more milliseconds per step, got -5");
    }
}
