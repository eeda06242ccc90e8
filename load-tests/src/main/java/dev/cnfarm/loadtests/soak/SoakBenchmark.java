package dev.cnfarm.loadtests.soak;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.coordinator.auth.Role;
import dev.cnfarm.coordinator.auth.TokenAdmin;
import dev.cnfarm.common.config.ConfigKey;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.embedded.FreePorts;
import dev.cnfarm.common.embedded.LocalInfrastructure;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.loadtests.FarmProcess;
import dev.cnfarm.loadtests.JobTopics;
import dev.cnfarm.loadtests.SimulatedFarm;
import dev.cnfarm.loadtests.report.Charts;
import dev.cnfarm.proto.v1.TaskEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * A soak with faults staged for real: the coordinator and the workers run as their own processes
 * (the built {@code farm} jar; workers on simulated GPUs, {@code farm worker --simulated-gpu-ms}),
 * the broker and S3 server embedded in this JVM. While one large job runs, a worker is killed with
 * SIGKILL every few seconds and a fresh one started in its place, and the coordinator is killed
 * and restarted now and then. Afterwards the job's own records are counted: tasks that never
 * ended (lost), tasks rendered more than once (redeliveries after a kill), and every recorded
 * output checked against its sha256 in S3.
 *
 * <pre>load-tests/bench soak [--duration-s 300] [--workers 4] [--tasks 4000] [--ms-per-task 100]
 *                      [--kill-worker-every-s 20] [--restart-coordinator-every-s 90] [--report-dir DIR]</pre>
 */
public final class SoakBenchmark {
    /** What the soak does; see the class comment. */
    public record Options(Path root, Path reportDir, int durationS, int workers, int tasks, int msPerTask, int killWorkerEveryS,
                          int restartCoordinatorEveryS, long seed) {
        public static Options defaults(Path root) {
            return new Options(root, root.resolve("load-tests/reports/soak"), 300, 4, 4000, 100, 20, 90, 42);
        }
    }

    /** A fault staged at {@code atS} seconds into the run; {@code recoveryS} until the farm answered again (coordinator) or the replacement was ready (worker). */
    public record Fault(double atS, String what, double recoveryS) {}

    /**
     * The counts after the soak.
     *
     * @param lost          tasks of the job that never reached an end state
     * @param renderedAgain tasks with more than one result event (rendered again after a kill; one result is recorded)
     * @param outputsChecked recorded outputs read back from S3 whose sha256 matched
     */
    public record Result(int taskCount, int succeeded, int failed, int cancelled, int lost, int renderedAgain, long extraRenders,
                         int outputsChecked, int outputsBad, double makespanS, List<Fault> faults, Map<Double, Double> doneOverTime) {
        public long workerKills() {
            return faults.stream().filter(f -> f.what().startsWith("worker")).count();
        }

        public long coordinatorKills() {
            return faults.stream().filter(f -> f.what().startsWith("coordinator")).count();
        }
    }

    public static void main(String[] args) throws Exception {
        Options d = Options.defaults(Path.of("."));
        Path root = d.root();
        Path reportDir = null;
        int durationS = d.durationS();
        int workers = d.workers();
        int tasks = d.tasks();
        int msPerTask = d.msPerTask();
        int killEvery = d.killWorkerEveryS();
        int restartEvery = d.restartCoordinatorEveryS();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root" -> root = Path.of(args[++i]);
                case "--report-dir" -> reportDir = Path.of(args[++i]);
                case "--duration-s" -> durationS = Integer.parseInt(args[++i]);
                case "--workers" -> workers = Integer.parseInt(args[++i]);
                case "--tasks" -> tasks = Integer.parseInt(args[++i]);
                case "--ms-per-task" -> msPerTask = Integer.parseInt(args[++i]);
                case "--kill-worker-every-s" -> killEvery = Integer.parseInt(args[++i]);
                case "--restart-coordinator-every-s" -> restartEvery = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Options o = new Options(root, reportDir != null ? reportDir : Options.defaults(root).reportDir(), durationS, workers, tasks,
                msPerTask, killEvery, restartEvery, d.seed());
        Result r = run(o);
        System.out.println(writeReport(o, r));
    }

    /** The settings that make faults resolve in seconds, as in the fault tests. */
    private static final Map<String, String> FAST_RECOVERY = Map.of(
            "kafka.task-lock-ms", "3000",
            "worker.heartbeat-ms", "500",
            "scheduler.retry-backoff-ms", "300",
            "scheduler.max-backoff-ms", "3000",
            "scheduler.session-timeout-ms", "6000");

    public static Result run(Options o) throws Exception {
        Path data = Files.createTempDirectory("soak");
        Path jar = o.root().resolve("cli/target/farm.jar");
        // process logs stay out of the report folder, which is committed
        Path logs = o.root().resolve("load-tests/target/soak-logs");
        Map<String, String> settings = new LinkedHashMap<>(FAST_RECOVERY);
        settings.put("coordinator.max-tasks-per-job", String.valueOf(Math.max(o.tasks(), 100_000)));
        settings.put("worker.metrics-port", "-1");
        List<Fault> faults = java.util.Collections.synchronizedList(new ArrayList<>());
        Map<Double, Double> done = new TreeMap<>();
        try (LocalInfrastructure infra = LocalInfrastructure.start(ConfigLoader.defaults(settings), data, 0, 0, Map.of());
             ObjectStore store = new MinioObjectStore(infra.config().s3())) {
            FarmConfig config = infra.config();
            int port = FreePorts.pick();
            Processes farm = new Processes(jar, logs, flags(config, settings, port), o.msPerTask());
            String token = TokenAdmin.createOnce(config.kafka(), new Topics(config.kafka().topicPrefix()), "default", Role.TENANT,
                    "soak").token();
            FarmClient client = new FarmClient("http://127.0.0.1:" + port, token);
            try {
                farm.start(o.workers());
                byte[] png = Files.readAllBytes(o.root().resolve("samples/control/house.png"));
                String control = store.put(ObjectKeys.upload("default", Sha256.of(png)), png, "image/png").key();
                long t0 = System.nanoTime();
                String job = client.submit(SimulatedFarm.matrixJob("soak", control, o.tasks(), 0), null, false).get("job_id").asText();
                // faults on their own threads, so the progress samples go on while replacements start, and a
                // coordinator restart is not held up behind a worker's replacement
                Random random = new Random(o.seed());
                List<Thread> injectors = List.of(
                        injector("worker-faults", o.durationS(), o.killWorkerEveryS(), t0, faults, () -> farm.replaceWorker(random)),
                        injector("coordinator-faults", o.durationS(), o.restartCoordinatorEveryS(), t0, faults, farm::restartCoordinator));
                JsonNode last = null;
                long lastPrint = 0;
                while (true) {
                    double now = (System.nanoTime() - t0) / 1e9;
                    try {
                        JsonNode s = client.job(job);
                        last = s;
                        done.put(now, s.at("/job/succeeded").asDouble());
                        if (ended(s) && injectors.stream().noneMatch(Thread::isAlive)) {
                            break;
                        }
                    } catch (RuntimeException e) {
                        // the coordinator is being replaced: no sample
                    }
                    if (now > o.durationS() + 600) {
                        break; // the job did not end in ten minutes after the faults: the report counts what is left as lost
                    }
                    if (System.nanoTime() - lastPrint > 10_000_000_000L && last != null) {
                        System.out.printf("  %.0f s: %d/%d images, %d faults%n", now, last.at("/job/succeeded").asInt(),
                                last.at("/job/task_count").asInt(), faults.size());
                        lastPrint = System.nanoTime();
                    }
                    Thread.sleep(250);
                }
                for (Thread t : injectors) {
                    t.join(Duration.ofMinutes(3).toMillis());
                }
                double makespan = (System.nanoTime() - t0) / 1e9;
                return count(config, store, job, client.job(job), makespan, List.copyOf(faults), done);
            } finally {
                farm.close();
            }
        }
    }

    /** One kind of fault. */
    private interface FaultAction {
        /** Stages the fault and waits for the replacement; returns what was done. */
        String stage() throws Exception;
    }

    /** Stages a fault every {@code everyS} seconds until {@code durationS}, on a thread of its own (0: never). */
    private static Thread injector(String name, int durationS, int everyS, long t0, List<Fault> faults, FaultAction action) {
        Thread t = new Thread(() -> {
            if (everyS <= 0) {
                return;
            }
            double next = everyS;
            try {
                while (true) {
                    double now = (System.nanoTime() - t0) / 1e9;
                    if (now >= durationS) {
                        return;
                    }
                    if (now >= next) {
                        long k = System.nanoTime();
                        String what = action.stage();
                        faults.add(new Fault(now, what, (System.nanoTime() - k) / 1e9));
                        next += everyS;
                    } else {
                        Thread.sleep(100);
                    }
                }
            } catch (Exception e) {
                throw new IllegalStateException(name + " stopped: " + e.getMessage(), e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** The farm's processes: one coordinator and the workers, started from the built jar. */
    private static final class Processes implements AutoCloseable {
        private final Path jar;
        private final Path logs;
        private final List<String> flags;
        private final int msPerTask;
        private final List<FarmProcess> workers = new ArrayList<>();
        /** Held while the coordinator is replaced; workers are replaced under the lock of their list, so the two go on side by side. */
        private final Object coordinatorLock = new Object();
        private FarmProcess coordinator;
        private int coordinators;
        private int nextWorker;

        Processes(Path jar, Path logs, List<String> flags, int msPerTask) {
            this.jar = jar;
            this.logs = logs;
            this.flags = flags;
            this.msPerTask = msPerTask;
        }

        void start(int workerCount) throws Exception {
            coordinator = startCoordinator();
            List<FarmProcess> started = new ArrayList<>();
            for (int i = 0; i < workerCount; i++) {
                started.add(startWorker());
            }
            coordinator.awaitLine("coordinator ready", Duration.ofSeconds(120));
            for (FarmProcess w : started) {
                w.awaitLine("ready", Duration.ofSeconds(120));
            }
            workers.addAll(started);
        }

        /** Kills a random worker with SIGKILL and starts a fresh one; returns what was done. */
        String replaceWorker(Random random) throws Exception {
            FarmProcess victim;
            synchronized (workers) {
                victim = workers.remove(random.nextInt(workers.size()));
            }
            victim.kill();
            FarmProcess fresh = startWorker();
            synchronized (workers) {
                workers.add(fresh);
            }
            fresh.awaitLine("ready", Duration.ofSeconds(120));
            return "worker " + victim.name() + " killed (SIGKILL), " + fresh.name() + " started";
        }

        String restartCoordinator() throws Exception {
            synchronized (coordinatorLock) {
                coordinator.kill();
                coordinator = startCoordinator();
                coordinator.awaitLine("coordinator ready", Duration.ofSeconds(120));
                return "coordinator killed (SIGKILL) and restarted";
            }
        }

        private FarmProcess startCoordinator() throws Exception {
            List<String> args = new ArrayList<>(List.of("coordinator"));
            args.addAll(flags);
            return FarmProcess.start(jar, logs, "coordinator-" + ++coordinators, "512m", args);
        }

        private synchronized FarmProcess startWorker() throws Exception {
            String id = "soak-" + nextWorker++;
            List<String> args = new ArrayList<>(List.of("worker", "--id", id, "--simulated-gpu-ms", String.valueOf(msPerTask)));
            args.addAll(flags);
            return FarmProcess.start(jar, logs, id, "256m", args);
        }

        @Override
        public void close() throws Exception {
            synchronized (workers) {
                for (FarmProcess w : workers) {
                    w.close();
                }
            }
            synchronized (coordinatorLock) {
                if (coordinator != null) {
                    coordinator.close();
                }
            }
        }
    }

    private static boolean ended(JsonNode s) {
        String state = s.at("/job/state").asText();
        return state.equals("succeeded") || state.equals("failed") || state.equals("cancelled");
    }

    private static Result count(FarmConfig config, ObjectStore store, String job, JsonNode last, double makespan, List<Fault> faults,
                                Map<Double, Double> done) {
        int taskCount = last.at("/job/task_count").asInt();
        int succeeded = last.at("/job/succeeded").asInt();
        int failed = last.at("/job/failed").asInt();
        int cancelled = last.at("/job/cancelled").asInt();
        List<TaskEvent> events = JobTopics.taskEvents(config.kafka(), new Topics(config.kafka().topicPrefix()), job);
        Map<Integer, Long> results = JobTopics.resultsPerTask(events);
        int again = (int) results.values().stream().filter(n -> n > 1).count();
        long extra = results.values().stream().mapToLong(n -> n - 1).sum();
        int checked = 0;
        int bad = 0;
        for (JsonNode t : last.get("tasks")) {
            if (t.get("state").asText().equals("succeeded")) {
                String digest = Sha256.of(store.get(t.get("output_key").asText()));
                if (digest.equals(t.get("output_sha256").asText())) {
                    checked++;
                } else {
                    bad++;
                }
            }
        }
        return new Result(taskCount, succeeded, failed, cancelled, taskCount - succeeded - failed - cancelled, again, extra, checked, bad,
                makespan, faults, done);
    }

    private static List<String> flags(FarmConfig config, Map<String, String> settings, int port) {
        List<String> flags = new ArrayList<>();
        for (ConfigKey k : List.of(ConfigKeys.KAFKA_BOOTSTRAP, ConfigKeys.KAFKA_PARTITIONS, ConfigKeys.S3_ENDPOINT)) {
            flags.add("--set");
            flags.add(k.name() + "=" + config.get(k));
        }
        settings.forEach((k, v) -> {
            flags.add("--set");
            flags.add(k + "=" + v);
        });
        flags.add("--set");
        flags.add("coordinator.port=" + port);
        return flags;
    }

    /** Writes README.md and the timeline chart; returns the Markdown. */
    public static String writeReport(Options o, Result r) throws Exception {
        Files.createDirectories(o.reportDir());
        StringBuilder md = new StringBuilder("# Soak with faults\n\nRun ").append(LocalDateTime.now().withNano(0)).append(" on ")
                .append(Runtime.getRuntime().availableProcessors()).append(" cores. The coordinator and ").append(o.workers())
                .append(" workers as separate processes of the built `farm` jar, workers on simulated GPUs (")
                .append(o.msPerTask()).append(" ms per task); Kafka broker and S3 server embedded in the benchmark's JVM. One job of ")
                .append(String.format("%,d", r.taskCount())).append(" tasks. For the first ").append(o.durationS())
                .append(" s: a random worker killed with SIGKILL every ").append(o.killWorkerEveryS())
                .append(" s and a new one started in its place");
        if (o.restartCoordinatorEveryS() > 0) {
            md.append("; the coordinator killed with SIGKILL and restarted every ").append(o.restartCoordinatorEveryS()).append(" s");
        }
        md.append(". Task lock 3 s, so a killed worker's task returns to the queue within seconds.\n\n")
                .append("| | count |\n|---|---|\n")
                .append(String.format("| tasks in the job | %,d |%n", r.taskCount()))
                .append(String.format("| succeeded | %,d |%n", r.succeeded()))
                .append(String.format("| failed | %,d |%n", r.failed()))
                .append(String.format("| cancelled | %,d |%n", r.cancelled()))
                .append(String.format("| **lost** (never ended) | **%,d** |%n", r.lost()))
                .append(String.format("| workers killed | %d |%n", r.workerKills()))
                .append(String.format("| coordinator kills | %d |%n", r.coordinatorKills()))
                .append(String.format("| tasks rendered more than once (redelivered after a kill; one result recorded) | %,d (%,d extra renders) |%n",
                        r.renderedAgain(), r.extraRenders()))
                .append(String.format("| recorded outputs read back with a matching sha256 | %,d of %,d |%n", r.outputsChecked(),
                        r.outputsChecked() + r.outputsBad()))
                .append(String.format("| makespan | %.1f s (%.1f tasks/s) |%n", r.makespanS(), r.succeeded() / r.makespanS()))
                .append("\n## Faults\n\n| at | fault | replacement ready after |\n|---|---|---|\n");
        Map<Double, String> markers = new LinkedHashMap<>();
        for (Fault f : r.faults().stream().sorted(java.util.Comparator.comparingDouble(Fault::atS)).toList()) {
            md.append(String.format("| %.1f s | %s | %.1f s |%n", f.atS(), f.what(), f.recoveryS()));
            markers.put(f.atS(), f.what().startsWith("coordinator") ? "coordinator" : "");
        }
        md.append("\nImages done over time; orange lines: a worker killed, red: the coordinator killed.\n\n")
                .append("![images done over time, faults marked](timeline.png)\n");
        Charts.lines(o.reportDir().resolve("timeline.png"), "Images done while faults are injected", "seconds", "images done",
                Map.of("images done", r.doneOverTime()), markers);
        Files.writeString(o.reportDir().resolve("README.md"), md);
        return md.toString();
    }
}
