package dev.cnfarm.loadtests.live;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.coordinator.http.Dashboard;
import dev.cnfarm.coordinator.auth.TokenRegistry;
import dev.cnfarm.coordinator.http.Authenticator;
import dev.cnfarm.coordinator.http.LiveSocket;
import dev.cnfarm.coordinator.http.RateLimits;
import dev.cnfarm.coordinator.state.JobView;
import dev.cnfarm.loadtests.report.Charts;
import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.JobState;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.TaskPhase;
import dev.cnfarm.proto.v1.TaskResult;
import dev.cnfarm.proto.v1.TaskStateRecord;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openqa.selenium.By;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The live-progress layer alone, without Kafka or workers in the way: task states are applied to
 * the coordinator's {@link JobView} as fast as one thread can, and the websocket layer fans them
 * out to N clients (one stalled). Measures events and frames delivered per second; then opens
 * the dashboard in headless Chromium on a 10,000-task job and times its first load.
 *
 * <pre>load-tests/bench live [--clients 100] [--tasks 20000] [--dashboard-tasks 10000]</pre>
 */
public final class LiveBenchmark {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        int clients = 100;
        int tasks = 20_000;
        int dashboardTasks = 10_000;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root" -> root = Path.of(args[++i]);
                case "--clients" -> clients = Integer.parseInt(args[++i]);
                case "--tasks" -> tasks = Integer.parseInt(args[++i]);
                case "--dashboard-tasks" -> dashboardTasks = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Path reportDir = root.resolve("load-tests/reports/live");
        Files.createDirectories(reportDir);
        Vertx vertx = Vertx.vertx();
        JobView view = new JobView();
        LiveSocket sockets = new LiveSocket(vertx, view);
        Router router = Router.router(vertx);
        // the socket's fan-out is measured here, not authentication: every client acts for tenant default
        sockets.mount(router, new Authenticator(new TokenRegistry(), false), new RateLimits(0, 1));
        new Dashboard().mount(router);
        HttpServer server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        String base = "http://127.0.0.1:" + server.actualPort();
        try {
            FanOut f = fanOut(view, base, clients, tasks);
            Dash d = dashboard(view, base, dashboardTasks);
            String md = "# Live progress\n\nRun " + LocalDateTime.now().withNano(0) + " on " + Runtime.getRuntime().availableProcessors()
                    + " cores. The coordinator's job view, websocket layer and dashboard in one JVM, fed synthetic task states "
                    + "(one thread applying them as fast as it can), so what is measured is the live-progress layer, not Kafka or workers.\n\n"
                    + "| measure | value |\n|---|---|\n"
                    + String.format("| clients (1 stalled: reads one frame, then nothing) | %d |%n", clients)
                    + String.format("| task events applied (%,d tasks, started + result) | %,d in %.2f s |%n", tasks, 2L * tasks, f.applySeconds)
                    + String.format("| time until every live client had every result | %.2f s |%n", f.deliverSeconds)
                    + String.format("| events delivered to all clients | %,.0f per second |%n", f.events / f.deliverSeconds)
                    + String.format("| frames delivered to all clients | %,.0f per second (%.1f per client per second) |%n",
                            f.frames / f.deliverSeconds, f.frames / f.deliverSeconds / (clients - 1))
                    + String.format("| results delivered to the live clients (as events or in snapshots) | %,.0f per second |%n",
                            f.results / f.deliverSeconds)
                    + String.format("| catch-up snapshots sent (clients whose queue passed 10,000 events) | %d |%n", f.snapshots)
                    + String.format("| results missed by live clients | %d |%n", f.missed)
                    + String.format("| dashboard first load, jobs list (%,d-task job present) | %d ms |%n", d.tasks, d.listMs)
                    + String.format("| dashboard first load, job view of the %,d-task job (first %d tiles drawn) | %d ms |%n", d.tasks,
                            d.tiles, d.jobMs)
                    + String.format("| its snapshot frame | %,d KiB |%n", d.snapshotBytes / 1024)
                    + "\n![fan-out](fanout.png)\n";
            Map<String, Double> bars = new LinkedHashMap<>();
            bars.put("results/s to all clients", f.results / f.deliverSeconds);
            bars.put("events/s to all clients", f.events / f.deliverSeconds);
            bars.put("task events/s applied", 2.0 * tasks / f.applySeconds);
            bars.put("frames/s to all clients", f.frames / f.deliverSeconds);
            Charts.bars(reportDir.resolve("fanout.png"), "Websocket fan-out to " + clients + " clients", "per second", bars);
            Files.writeString(reportDir.resolve("README.md"), md);
            System.out.println(md);
        } finally {
            sockets.stop();
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    private record FanOut(double applySeconds, double deliverSeconds, long events, long frames, long missed, long results,
                          long snapshots) {}

    private record Dash(int tasks, long listMs, long jobMs, int tiles, long snapshotBytes) {}

    private static JobRecord job(String id, int tasks) {
        return JobRecord.newBuilder().setSchemaVersion(1).setJobId(id).setTenant("default").setTaskCount(tasks)
                .setState(JobState.JOB_STATE_SUBMITTED).setSubmittedAtMs(System.currentTimeMillis())
                .setSpec(JobSpec.newBuilder().setName(id).setSteps(20).setWidth(512).setHeight(512)).build();
    }

    private static TaskStateRecord state(String job, int i, TaskPhase phase) {
        TaskStateRecord.Builder b = TaskStateRecord.newBuilder().setJobId(job).setTaskId(job + "-" + i).setTaskIndex(i).setPhase(phase)
                .setRelease(1).setDelivery(1).setWorkerId("gpu-" + (i % 16)).setStartedAtMs(System.currentTimeMillis())
                .setUpdatedAtMs(System.currentTimeMillis());
        if (phase == TaskPhase.TASK_PHASE_SUCCEEDED) {
            b.setResult(TaskResult.newBuilder().setOutput(ObjectRef.newBuilder().setKey("outputs/default/" + job + "/" + i + ".png")
                    .setSha256("0".repeat(64)).setSizeBytes(400_000)));
        }
        return b.build();
    }

    private static FanOut fanOut(JobView view, String base, int clients, int tasks) throws Exception {
        view.applyJob(job("fan", tasks));
        HttpClient http = HttpClient.newHttpClient();
        List<ResultFollower> counters = new ArrayList<>();
        List<WebSocket> sockets = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            ResultFollower c = new ResultFollower(i == 0);
            counters.add(c);
            WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create(base.replace("http", "ws") + "/ws"), c).get(10, TimeUnit.SECONDS);
            ws.sendText("{\"type\":\"subscribe\",\"jobs\":[\"fan\"]}", true).get(5, TimeUnit.SECONDS);
            sockets.add(ws);
        }
        Thread.sleep(500); // snapshots out of the way
        long t0 = System.nanoTime();
        for (int i = 0; i < tasks; i++) {
            view.applyTaskState(state("fan", i, TaskPhase.TASK_PHASE_RUNNING));
            view.applyTaskState(state("fan", i, TaskPhase.TASK_PHASE_SUCCEEDED));
        }
        double apply = (System.nanoTime() - t0) / 1e9;
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (System.nanoTime() < deadline && counters.stream().skip(1).anyMatch(c -> c.results() < tasks)) {
            Thread.sleep(10);
        }
        double deliver = (System.nanoTime() - t0) / 1e9;
        long events = counters.stream().mapToLong(ResultFollower::events).sum();
        long frames = counters.stream().mapToLong(ResultFollower::frames).sum();
        long missed = counters.stream().skip(1).mapToLong(c -> Math.max(0, tasks - c.results())).sum();
        long results = counters.stream().skip(1).mapToLong(ResultFollower::results).sum();
        long snapshots = counters.stream().skip(1).mapToLong(ResultFollower::snapshots).sum() - (clients - 1); // less the first ones
        sockets.forEach(WebSocket::abort);
        return new FanOut(apply, deliver, events, frames, missed, results, snapshots);
    }

    private static Dash dashboard(JobView view, String base, int tasks) throws Exception {
        String id = "dash";
        view.applyJob(job(id, tasks));
        for (int i = 0; i < tasks; i++) {
            view.applyTaskState(state(id, i, i < tasks / 2 ? TaskPhase.TASK_PHASE_SUCCEEDED
                    : i < tasks / 2 + 16 ? TaskPhase.TASK_PHASE_RUNNING : TaskPhase.TASK_PHASE_RELEASED));
        }
        long snapshotBytes = Json.mapper().writeValueAsBytes(view.snapshot(id).orElseThrow()).length;
        ChromeOptions options = new ChromeOptions();
        options.setBinary(System.getProperty("farm.chromium", "/usr/bin/chromium"));
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000");
        ChromeDriver browser = new ChromeDriver(new ChromeDriverService.Builder()
                .usingDriverExecutable(Path.of(System.getProperty("farm.chromedriver", "/usr/bin/chromedriver")).toFile()).build(), options);
        try {
            WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60), Duration.ofMillis(10));
            browser.get("about:blank");
            long t0 = System.nanoTime();
            browser.get(base + "/dashboard/");
            wait.until(d -> !d.findElements(By.cssSelector("#jobs-table tr[data-job='" + id + "']")).isEmpty());
            long listMs = (System.nanoTime() - t0) / 1_000_000;
            browser.get("about:blank");
            long t1 = System.nanoTime();
            browser.get(base + "/dashboard/#/jobs/" + id);
            int tiles = Math.min(240, tasks);
            wait.until(d -> d.findElements(By.cssSelector("#tiles .tile")).size() == tiles
                    && d.findElement(By.id("job-images")).getText().startsWith((tasks / 2) + "/"));
            long jobMs = (System.nanoTime() - t1) / 1_000_000;
            return new Dash(tasks, listMs, jobMs, tiles, snapshotBytes);
        } finally {
            browser.quit();
        }
    }
}
