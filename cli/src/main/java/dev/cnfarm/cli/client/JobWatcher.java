package dev.cnfarm.cli.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import java.io.PrintStream;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Follows a job over its websocket with a progress bar (steps of all tasks, images done, ETA, and
 * a small bar per task being rendered) until the job ends. A dropped connection is reopened; the
 * snapshot sent on every connect makes the bar correct again, so nothing is missed. With no output
 * stream (scripts asked for JSON) it only waits.
 */
public final class JobWatcher {
    private static final Set<String> FINAL_STATES = Set.of("succeeded", "failed", "cancelled");
    private static final int BAR_UNITS = 1000;

    private final FarmClient client;
    private final PrintStream out;

    public JobWatcher(FarmClient client, PrintStream out) {
        this.client = client;
        this.out = out;
    }

    /** Blocks until the job ends or the timeout passes; returns the final summary. */
    public JsonNode watch(String jobId, Duration timeout) throws TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode[] latest = new JsonNode[1];
        CompletableFuture<JsonNode> done = new CompletableFuture<>();
        PrintStream sink = out != null ? out : new PrintStream(java.io.OutputStream.nullOutputStream());
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName(jobId).setInitialMax(BAR_UNITS)
                .setStyle(ProgressBarStyle.UNICODE_BLOCK).setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(sink))
                .setUpdateIntervalMillis(200).continuousUpdate().build()) {
            while (!done.isDone()) {
                WebSocket ws;
                try {
                    ws = client.openJobSocket(jobId, new Listener(bar, latest, done)).get(10, TimeUnit.SECONDS);
                } catch (Exception e) {
                    // the coordinator may be restarting; try again until the deadline
                    if (System.nanoTime() > deadline) {
                        throw new TimeoutException("could not connect to follow job " + jobId + ": " + e.getMessage());
                    }
                    Thread.sleep(1000);
                    continue;
                }
                while (!done.isDone() && !ws.isInputClosed()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        ws.abort();
                        throw new TimeoutException("job " + jobId + " did not finish within " + timeout.toSeconds() + " s");
                    }
                    try {
                        done.get(Math.min(left, TimeUnit.MILLISECONDS.toNanos(500)), TimeUnit.NANOSECONDS);
                    } catch (TimeoutException e) {
                        // keep waiting
                    } catch (java.util.concurrent.ExecutionException e) {
                        break;
                    }
                }
                ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").exceptionally(e -> null);
            }
            bar.stepTo(BAR_UNITS);
        }
        try {
            return done.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    private static final class Listener implements WebSocket.Listener {
        private final ProgressBar bar;
        private final JsonNode[] latest;
        private final CompletableFuture<JsonNode> done;
        private final StringBuilder partial = new StringBuilder();
        /** Tasks being rendered: index to {step, total}, for the per-task bars. */
        private final java.util.TreeMap<Integer, int[]> running = new java.util.TreeMap<>();
        /** A training task's latest loss, when the job trains. */
        private double loss;
        /** A training task's latest sample score and the base model's, when it has sampled. */
        private double edgeF1 = -1;
        private double baselineEdgeF1;

        Listener(ProgressBar bar, JsonNode[] latest, CompletableFuture<JsonNode> done) {
            this.bar = bar;
            this.latest = latest;
            this.done = done;
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                String frame = partial.toString();
                partial.setLength(0);
                try {
                    JsonNode msg = Json.mapper().readTree(frame);
                    JsonNode job = msg.get("job");
                    synchronized (this) {
                        if (msg.has("tasks")) {
                            running.clear();
                            msg.get("tasks").forEach(this::track);
                        }
                        // an "events" frame carries several updates; the last one holds the newest job summary
                        for (JsonNode e : msg.path("events")) {
                            job = e.get("job");
                            if (e.has("task")) {
                                track(e.get("task"));
                            }
                        }
                    }
                    if (job != null) {
                        show(job);
                    }
                } catch (Exception e) {
                    // a frame we cannot read is skipped; the next snapshot or update corrects the bar
                }
            }
            ws.request(1);
            return null;
        }

        private void track(JsonNode task) {
            int index = task.path("index").asInt();
            if ("running".equals(task.path("state").asText())) {
                running.put(index, new int[] {task.path("step").asInt(), task.path("total_steps").asInt()});
                if (task.path("loss").asDouble() > 0) {
                    loss = task.path("loss").asDouble();
                }
                if (!task.path("sample_key").asText("").isEmpty()) {
                    edgeF1 = task.path("edge_f1").asDouble();
                    baselineEdgeF1 = task.path("baseline_edge_f1").asDouble();
                }
            } else {
                running.remove(index);
            }
        }

        /** Up to four running tasks as small bars: {@code #12 ▮▮▮▯▯ #13 ▮▯▯▯▯}. */
        private String taskBars() {
            StringBuilder b = new StringBuilder();
            int shown = 0;
            for (var e : running.entrySet()) {
                if (shown++ == 4) {
                    b.append(" +").append(running.size() - 4);
                    break;
                }
                int total = Math.max(1, e.getValue()[1]);
                int filled = Math.min(5, Math.round(5f * e.getValue()[0] / total));
                b.append(" #").append(e.getKey()).append(' ').append("\u25ae".repeat(filled)).append("\u25af".repeat(5 - filled));
            }
            return b.toString();
        }

        private synchronized void show(JsonNode job) {
            latest[0] = job;
            bar.stepTo(Math.round(job.path("progress").asDouble() * BAR_UNITS));
            StringBuilder msg = new StringBuilder()
                    .append(job.path("succeeded").asInt()).append('/').append(job.path("task_count").asInt()).append(" images");
            if (job.path("running").asInt() > 0) {
                msg.append(", ").append(job.path("running").asInt()).append(" rendering");
            }
            if (job.path("failed").asInt() > 0) {
                msg.append(", ").append(job.path("failed").asInt()).append(" failed");
            }
            if (job.path("images_per_second").asDouble() > 0) {
                msg.append(String.format(", %.2f img/s", job.path("images_per_second").asDouble()));
            }
            long eta = job.path("eta_seconds").asLong(-1);
            if (eta > 0) {
                msg.append(", ETA ").append(eta).append(" s");
            }
            if (loss > 0) {
                msg.append(String.format(", loss %.4f", loss)); // a training job: one task, its step and loss
            }
            if (edgeF1 >= 0) {
                msg.append(String.format(", samples' edge F1 %.2f (base %.2f)", edgeF1, baselineEdgeF1));
            }
            if (!running.isEmpty()) {
                msg.append(" |").append(taskBars());
            }
            bar.setExtraMessage(msg.toString());
            if (FINAL_STATES.contains(job.path("state").asText())) {
                done.complete(job);
            }
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            // the watch loop notices the closed input and reconnects
        }
    }
}
