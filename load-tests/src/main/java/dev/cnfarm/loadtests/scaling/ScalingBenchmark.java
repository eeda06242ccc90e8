package dev.cnfarm.loadtests.scaling;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.loadtests.SimulatedFarm;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.loadtests.report.Charts;
import dev.cnfarm.loadtests.report.TaskLatencies;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Scaling with simulated GPUs: a job of T tasks, each a fixed simulated compute time, at 1, 4, 16
 * and 64 workers (a fresh embedded farm each time, everything in this JVM). Makespan is submit to
 * last image; the ideal is T x compute / workers; efficiency = ideal / measured. Also records
 * where the machine's CPU went in each run (threads grouped by name), since on one small machine
 * the farm's own per-task CPU is what caps throughput.
 *
 * Dispatch and result latency percentiles per run come from the job's records on Kafka
 * ({@link TaskLatencies}).
 *
 * <pre>load-tests/bench scaling [--tasks 1000] [--ms-per-task 50] [--workers 1,4,16,64] [--compare-task-partitions 6]
 *                         [--report-dir DIR]</pre>
 */
public final class ScalingBenchmark {
    private record Run(int workers, int taskPartitions, int tasks, double makespanS, double idealS, Map<String, Double> cpuByGroup, double cpuSeconds,
                       TaskLatencies latencies) {
        double efficiency() {
            return idealS / makespanS;
        }

        double tasksPerSecond() {
            return tasks / makespanS;
        }
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        int tasks = 1000;
        int msPerTask = 50;
        List<Integer> counts = List.of(1, 4, 16, 64);
        int comparePartitions = 6;
        Path reportDir = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root" -> root = Path.of(args[++i]);
                case "--tasks" -> tasks = Integer.parseInt(args[++i]);
                case "--ms-per-task" -> msPerTask = Integer.parseInt(args[++i]);
                case "--workers" -> counts = java.util.Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                // the second worker count again with the tasks topic split this many ways (0: skip); with no more
                // workers than partitions, the share group gives each partition to one worker alone
                case "--compare-task-partitions" -> comparePartitions = Integer.parseInt(args[++i]);
                // elsewhere than the committed report (the CI smoke run writes under target/)
                case "--report-dir" -> reportDir = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (reportDir == null) {
            reportDir = root.resolve("load-tests/reports/scaling");
        }
        Files.createDirectories(reportDir);
        byte[] png = Files.readAllBytes(root.resolve("samples/control/house.png"));
        List<Run> runs = new ArrayList<>();
        List<int[]> plan = new ArrayList<>();
        counts.forEach(n -> plan.add(new int[] {n, 1}));
        if (comparePartitions > 1) {
            plan.add(new int[] {counts.get(Math.min(1, counts.size() - 1)), comparePartitions});
        }
        for (int[] p : plan) {
            int n = p[0];
            Run r = run(n, p[1], tasks, msPerTask, png);
            System.out.printf("%d workers, %d task partitions: %d tasks in %.1f s (ideal %.1f s), efficiency %.3f, %.1f tasks/s%n", n,
                    p[1], tasks, r.makespanS,
                    r.idealS, r.efficiency(), r.tasksPerSecond());
            runs.add(r);
        }
        StringBuilder md = new StringBuilder("# Scaling with simulated GPUs\n\nRun ").append(LocalDateTime.now().withNano(0)).append(" on ")
                .append(Runtime.getRuntime().availableProcessors()).append(" cores: a fresh embedded farm per row (Kafka broker, S3 server, ")
                .append("coordinator and the workers, all in one JVM), one job of ").append(String.format("%,d", tasks))
                .append(" tasks, each a simulated GPU computing ").append(msPerTask).append(" ms (1 step, 64x64 output PNG, ")
                .append("passthrough control map from a 640x480 PNG). Makespan: submit to last image. Ideal: tasks x compute / workers.\n\n")
                .append("| workers | tasks topic partitions | makespan | ideal | efficiency | tasks/s | CPU used (of ").append(Runtime.getRuntime().availableProcessors())
                .append(" cores) | CPU per task |\n|---|---|---|---|---|---|---|---|\n");
        Map<Double, Double> eff = new TreeMap<>();
        Map<Double, Double> tps = new TreeMap<>();
        Map<Double, Double> idealTps = new TreeMap<>();
        for (Run r : runs) {
            md.append(String.format("| %d | %d | %.1f s | %.1f s | %.3f | %.1f | %.2f | %.0f ms |%n", r.workers, r.taskPartitions, r.makespanS, r.idealS, r.efficiency(),
                    r.tasksPerSecond(), r.cpuSeconds / r.makespanS, 1000 * r.cpuSeconds / r.tasks));
            if (r.taskPartitions != 1) {
                continue;
            }
            eff.put((double) r.workers, r.efficiency());
            tps.put((double) r.workers, r.tasksPerSecond());
            idealTps.put((double) r.workers, r.workers * 1000.0 / msPerTask);
        }
        md.append("\n## Latency per task\n\nDispatch: released by the scheduler to started by a worker. Result: sent by the worker to ")
                .append("recorded by the scheduler. Read back from the job's task events and task states on Kafka (HdrHistogram).\n\n")
                .append("| workers | partitions | latency | ").append(TaskLatencies.TABLE_HEADER).append(" |\n|---|---|---|---|---|---|---|---|---|\n");
        for (Run r : runs) {
            md.append(String.format("| %d | %d | dispatch | %s |%n", r.workers, r.taskPartitions, r.latencies.dispatch().row()));
            md.append(String.format("| %d | %d | result | %s |%n", r.workers, r.taskPartitions, r.latencies.result().row()));
        }
        Run last = runs.stream().filter(r -> r.taskPartitions == 1).reduce((a, b) -> b).orElseThrow();
        md.append("\n## Where the CPU went at ").append(last.workers).append(" workers\n\n")
                .append("CPU seconds per thread group during the run (threads named alike are grouped):\n\n| threads | CPU s | share |\n|---|---|---|\n");
        double total = last.cpuByGroup.values().stream().mapToDouble(Double::doubleValue).sum();
        last.cpuByGroup.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(15)
                .forEach(e -> md.append(String.format("| `%s` | %.1f | %.0f %% |%n", e.getKey(), e.getValue(), 100 * e.getValue() / total)));
        md.append("\n![efficiency](efficiency.png)\n\n![throughput](throughput.png)\n\n![latency](latency.png)\n");
        Charts.lines(reportDir.resolve("latency.png"), "Latency percentiles at " + last.workers + " workers", "percentile", "ms",
                last.latencies.percentileCurves());
        Charts.lines(reportDir.resolve("efficiency.png"), "Scaling efficiency (ideal makespan / measured)", "workers", "efficiency",
                Map.of("efficiency", eff));
        Map<String, Map<Double, Double>> t = new LinkedHashMap<>();
        t.put("measured tasks/s", tps);
        t.put("ideal tasks/s", idealTps);
        Charts.lines(reportDir.resolve("throughput.png"), "Throughput with " + msPerTask + " ms simulated GPUs", "workers", "tasks per second", t);
        Files.writeString(reportDir.resolve("README.md"), md);
        System.out.println(md);
    }

    private static Run run(int workerCount, int taskPartitions, int tasks, int msPerTask, byte[] png) throws Exception {
        Path data = Files.createTempDirectory("scaling-bench");
        FarmConfig base = ConfigLoader.defaults(Map.of("coordinator.port", "0", "worker.heartbeat-ms", "1000",
                "kafka.task-partitions", String.valueOf(taskPartitions),
                "coordinator.max-tasks-per-job", String.valueOf(Math.max(tasks, 100_000))));
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        try (SimulatedFarm farm = SimulatedFarm.start(base, data, workerCount, msPerTask, "sim")) {
            String control = farm.upload(png);
            FarmClient client = farm.client();
            Thread.sleep(2000); // heartbeats in, so the scheduler's window counts every worker
            Map<Long, Long> cpuBefore = cpuByThread(mx);
            long t0 = System.nanoTime();
            String job = client.submit(SimulatedFarm.matrixJob("scaling", control, tasks, 0), null, false).get("job_id").asText();
            long lastPrint = System.nanoTime();
            while (true) {
                JsonNode j = client.job(job).get("job");
                String state = j.get("state").asText();
                if (state.equals("succeeded") || state.equals("failed") || state.equals("cancelled")) {
                    break;
                }
                if (System.nanoTime() - lastPrint > 10_000_000_000L) {
                    System.out.printf("  %d workers: %d/%d%n", workerCount, j.get("succeeded").asInt(), j.get("task_count").asInt());
                    lastPrint = System.nanoTime();
                }
                Thread.sleep(20);
            }
            double makespan = (System.nanoTime() - t0) / 1e9;
            int done = SimulatedFarm.matrixTasks(tasks);
            Map<String, Double> groups = new HashMap<>();
            double cpu = 0;
            for (Map.Entry<Long, Long> e : cpuByThread(mx).entrySet()) {
                long used = e.getValue() - cpuBefore.getOrDefault(e.getKey(), 0L);
                if (used <= 0) {
                    continue;
                }
                var info = mx.getThreadInfo(e.getKey());
                String name = info == null ? "(ended)" : group(info.getThreadName());
                groups.merge(name, used / 1e9, Double::sum);
                cpu += used / 1e9;
            }
            TaskLatencies latencies = TaskLatencies.read(farm.config().kafka(), new Topics(farm.config().kafka().topicPrefix()), job);
            return new Run(workerCount, taskPartitions, done, makespan, done * msPerTask / 1000.0 / workerCount, groups, cpu, latencies);
        }
    }

    private static Map<Long, Long> cpuByThread(ThreadMXBean mx) {
        Map<Long, Long> out = new HashMap<>();
        for (long id : mx.getAllThreadIds()) {
            long t = mx.getThreadCpuTime(id);
            if (t > 0) {
                out.put(id, t);
            }
        }
        return out;
    }

    /** Thread names without their numbers and ids, so a pool's threads fall in one group. */
    static String group(String name) {
        return name.replaceAll("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "*")
                .replaceAll("sim-[0-9]+", "sim-*").replaceAll("[0-9]+", "#");
    }
}
