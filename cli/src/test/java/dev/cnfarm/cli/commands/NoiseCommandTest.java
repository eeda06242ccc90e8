package dev.cnfarm.cli.commands;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.FarmCommand;
import dev.cnfarm.common.json.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code farm noise}: what a user compares against {@code torch.manual_seed(0); torch.randn(...)}. */
class NoiseCommandTest {
    @Test
    void printsTorchsNumbersForASeed() throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cli = FarmCommand.commandLine();
        cli.setOut(new PrintWriter(out));
        int code = cli.execute("noise", "--generator", "torch_cpu", "--seed", "0", "--shape", "1,4,64,64", "--draws", "2", "-o", "json");
        assertThat(code).isZero();
        JsonNode j = Json.mapper().readTree(out.toString());
        assertThat(j.get("draws")).hasSize(2);
        assertThat(j.at("/draws/0")).hasSize(4 * 64 * 64);
        assertThat(j.at("/draws/0/0").asDouble()).isCloseTo(-1.1258, within(6e-5));
        assertThat(j.at("/draws/0/7").asDouble()).isCloseTo(-2.1152, within(6e-5));
        assertThat(j.at("/draws/1/0").asDouble()).as("the second draw goes on from the first").isNotEqualTo(j.at("/draws/0/0").asDouble());
    }

    @Test
    void aBadGeneratorIsNamed() {
        StringWriter err = new StringWriter();
        CommandLine cli = FarmCommand.commandLine();
        cli.setErr(new PrintWriter(err));
        assertThat(cli.execute("noise", "--generator", "cuda", "--seed", "1")).isEqualTo(2);
        assertThat(err.toString()).contains("--generator", "farm, torch_cpu or cuda_philox");
    }
}
