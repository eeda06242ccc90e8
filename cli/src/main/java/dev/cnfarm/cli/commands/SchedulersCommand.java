package dev.cnfarm.cli.commands;

import dev.cnfarm.common.json.Json;
import dev.cnfarm.worker.engine.sched.Scheduler;
import dev.cnfarm.worker.engine.sched.SchedulerConfig;
import dev.cnfarm.worker.engine.sched.SchedulerKind;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code farm schedulers}: the samplers, and the timesteps and sigmas one of them uses. */
@Command(name = "schedulers", mixinStandardHelpOptions = true, description = "List the samplers, or show one's timesteps and sigmas.",
        subcommands = {SchedulersCommand.Show.class, SchedulersCommand.ListAll.class})
public final class SchedulersCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        new CommandLine(this).usage(spec.commandLine().getOut());
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "The sampler names jobs can use.")
    static final class ListAll implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            for (SchedulerKind k : SchedulerKind.values()) {
                out.println(k.id() + (k.stochastic() ? "   (adds noise each step; the seed decides it)" : ""));
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Print a sampler's timesteps and sigmas for a step count, as JSON (SD1.5 defaults).")
    static final class Show implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME", description = "ddim, euler, euler_a, dpmpp_2m, dpmpp_2m_karras or unipc")
        String name;

        @Option(names = "--steps", defaultValue = "20", description = "steps (default ${DEFAULT-VALUE})")
        int steps;

        @Option(names = "--eta", defaultValue = "0", description = "DDIM's eta")
        double eta;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            Scheduler s = SchedulerKind.of(name).create(SchedulerConfig.sd15(), steps, eta);
            double[] t = new double[s.steps()];
            for (int i = 0; i < t.length; i++) {
                t[i] = s.timestep(i);
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("scheduler", s.name());
            out.put("steps", s.steps());
            out.put("init_noise_sigma", s.initNoiseSigma());
            out.put("timesteps", t);
            out.put("sigmas", Arrays.stream(s.sigmas()).toArray());
            spec.commandLine().getOut().println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(out));
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
