package dev.cnfarm.loadtests.scheduling;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.loadtests.SimulatedFarm;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.loadtests.report.Charts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The scheduler's own costs, with simulated workers so that orchestration is what is measured:
 * a big job run through the farm (throughput of the scheduler, Kafka and S3 path per task), the
 * dispatch latency of small urgent jobs submitted behind it, and the time a restarted coordinator
 * takes to be ready again with all of that state on the topics.
 *
 * <pre>load-tests/bench scheduling [--tasks 100000] [--workers 16] [--ms-per-step 0] [--urgent 10]</pre>
 */
public final class SchedulingBenchmark {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        int tasks = 100_000;
        int workerCount = 16;
        int msPerStep = 0;
        int urgentJobs = 10;
        boolean restartMidJob = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root" -> root = Path.of(args[++i]);
                case "--tasks" -> tasks = Integer.parseInt(args[++i]);
                case "--workers" -> workerCount = Integer.parseInt(args[++i]);
                case "--ms-per-step" -> msPerStep = Integer.parseInt(args[++i]);
                case "--urgent" -> urgentJobs = Integer.parseInt(args[++i]);
                // restart while the big job still has most of its tasks queued, without waiting for it to end
                case "--restart-mid-job" -> restartMidJob = true;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Path reportDir = root.resolve("load-tests/reports/scheduling");
        Files.createDirectories(reportDir);
        Path data = Files.createTempDirectory("scheduling-bench");
        FarmConfig base = ConfigLoader.defaults(Map.of("coordinator.port", "0", "worker.heartbeat-ms", "1000",
                "coordinator.max-tasks-per-job", String.valueOf(Math.max(tasks, 100_000))));
        try (SimulatedFarm farm = SimulatedFarm.start(base, data, workerCount, msPerStep, "sim")) {
            String control = farm.upload(Files.readAllBytes(root.resolve("samples/control/house.png")));
            FarmClient client = farm.client();
            long t0 = System.nanoTime();
            tasks = SimulatedFarm.matrixTasks(tasks);
            String big = client.submit(SimulatedFarm.matrixJob("big", control, tasks, 0), null, false).get("job_id").asText();
            long submitMs = (System.nanoTime() - t0) / 1_000_000;

            // urgent jobs, one at a time, while the big one runs
            List<Long> dispatch = new ArrayList<>();
            while (client.job(big).at("/job/succeeded").asInt() < Math.min(tasks / 10, 2000)) {
                Thread.sleep(200);
            }
            for (int u = 0; u < urgentJobs; u++) {
                String id = client.submit(SimulatedFarm.matrixJob("urgent-" + u, control, 1, 50), null, false).get("job_id").asText();
                JsonNode s = awaitEnd(client, id);
                dispatch.add(s.at("/job/started_at_ms").asLong() - s.at("/job/submitted_at_ms").asLong());
            }
            JsonNode done = restartMidJob ? client.job(big) : awaitEnd(client, big);
            double elapsedS = (System.nanoTime() - t0) / 1e9;
            int doneAtRestart = done.at("/job/succeeded").asInt();
            System.out.printf("big job: %d of %d tasks in %.1f s (%.0f tasks/s) on %d simulated workers%n", doneAtRestart, tasks, elapsedS,
                    doneAtRestart / elapsedS, workerCount);
            if (restartMidJob) {
                // the workers would go on finishing tasks while the coordinator is down: stop them so the views compare
                farm.stopWorkers();
                done = client.job(big);
            }

            // restart: the new coordinator rebuilds its view from the topics and takes the scheduler over
            long restartMs = farm.restartCoordinator();
            long replayed = farm.coordinator().replayedRecords();
            JsonNode after = farm.client().job(big);
            boolean same = after.at("/job/succeeded").asInt() == done.at("/job/succeeded").asInt()
                    && after.at("/job/failed").asInt() == done.at("/job/failed").asInt()
                    && after.at("/job/state").asText().equals(done.at("/job/state").asText());

            dispatch.sort(Long::compare);
            long p50 = dispatch.get(dispatch.size() / 2);
            long max = dispatch.get(dispatch.size() - 1);
            StringBuilder md = new StringBuilder("# Scheduling\n\nRun ").append(LocalDateTime.now().withNano(0)).append(" on ")
                    .append(Runtime.getRuntime().availableProcessors()).append(" cores; embedded broker and S3 server in the same JVM; ")
                    .append(workerCount).append(" simulated workers, ").append(msPerStep).append(" ms per step, 1 step per task, so ")
                    .append("what is measured is the farm's own cost per task (scheduler, Kafka round trips, S3 upload of a PNG and sidecar).\n\n")
                    .append("| measure | value |\n|---|---|\n")
                    .append(String.format("| submit of a %,d-task job (HTTP 201) | %d ms |%n", tasks, submitMs))
                    .append(restartMidJob
                            ? String.format("| big job, done before the restart | %,d tasks in %.1f s (%.0f tasks/s) |%n", doneAtRestart, elapsedS,
                                    doneAtRestart / elapsedS)
                            : String.format("| big job makespan | %.1f s (%.0f tasks/s) |%n", elapsedS, tasks / elapsedS))
                    .append(String.format("| urgent 1-task job behind it, submit to started (median of %d) | %d ms |%n", dispatch.size(), p50))
                    .append(String.format("| same, worst | %d ms |%n", max))
                    .append(String.format("| coordinator restart to ready, %,d tasks of state (%,d records replayed) | %d ms |%n", tasks,
                            replayed, restartMs))
                    .append(String.format("| restarted view equals the view before | %s |%n", same ? "yes" : "NO"))
                    .append("\n![dispatch](dispatch.png)\n");
            Map<String, Double> bars = new LinkedHashMap<>();
            for (int i = 0; i < dispatch.size(); i++) {
                bars.put("urgent " + (i + 1), (double) dispatch.get(i));
            }
            Charts.bars(reportDir.resolve("dispatch.png"), "Urgent job behind " + tasks + " tasks: submit to start (sorted)",
                    "milliseconds", bars);
            Files.writeString(reportDir.resolve("README.md"), md);
            System.out.println(md);
        }
    }

    private static JsonNode awaitEnd(FarmClient client, String id) throws InterruptedException {
        long last = System.nanoTime();
        while (true) {
            JsonNode s = client.job(id);
            String state = s.at("/job/state").asText();
            if (state.equals("succeeded") || state.equals("failed") || state.equals("cancelled")) {
                return s;
            }
            if (System.nanoTime() - last > 10_000_000_000L) {
                System.out.printf("  %s: %d/%d%n", id, s.at("/job/succeeded").asInt(), s.at("/job/task_count").asInt());
                last = System.nanoTime();
            }
            Thread.sleep(50);
        }
    }
}
