package dev.cnfarm.coordinator.live;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.coordinator.state.JobView;
import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.JobState;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.TaskPhase;
import dev.cnfarm.proto.v1.TaskProgress;
import dev.cnfarm.proto.v1.TaskResult;
import dev.cnfarm.proto.v1.TaskStateRecord;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a websocket client receives: snapshots, ordered results, coalesced progress, bounded buffers, resume. */
class ClientSessionTest {
    private final JobView view = new JobView();
    private final EventLog log = new EventLog(view, 100);
    private final ListSink sink = new ListSink();
    private final ClientSession session = new ClientSession("default", sink, view, log);

    ClientSessionTest() {
        log.onEvent(session::offer);
    }

    /** A test double for a websocket: records frames, and can pretend the client stopped reading. */
    static final class ListSink implements FrameSink {
        final List<JsonNode> frames = new ArrayList<>();
        boolean full;

        @Override
        public boolean writeQueueFull() {
            return full;
        }

        @Override
        public void send(String frame) {
            try {
                frames.add(Json.mapper().readTree(frame));
            } catch (Exception e) {
                throw new AssertionError("frame is not JSON: " + frame, e);
            }
        }

        List<JsonNode> take() {
            List<JsonNode> out = new ArrayList<>(frames);
            frames.clear();
            return out;
        }
    }

    private void job(String id, int tasks, String tenant) {
        view.applyJob(JobRecord.newBuilder().setSchemaVersion(1).setJobId(id).setTenant(tenant).setTaskCount(tasks)
                .setState(JobState.JOB_STATE_SUBMITTED).setSpec(JobSpec.newBuilder().setSteps(4).setWidth(64).setHeight(64)).build());
    }

    private void running(String job, int index) {
        view.applyTaskState(TaskStateRecord.newBuilder().setJobId(job).setTaskId(job + "-" + index).setTaskIndex(index)
                .setPhase(TaskPhase.TASK_PHASE_RUNNING).setRelease(1).setDelivery(1).setWorkerId("w").setStartedAtMs(900).build());
    }

    private void succeeded(String job, int index) {
        view.applyTaskState(TaskStateRecord.newBuilder().setJobId(job).setTaskId(job + "-" + index).setTaskIndex(index)
                .setPhase(TaskPhase.TASK_PHASE_SUCCEEDED).setRelease(1).setDelivery(1).setWorkerId("w").setStartedAtMs(900)
                .setResult(TaskResult.newBuilder().setOutput(ObjectRef.newBuilder().setKey("k" + index).setSha256("s").setSizeBytes(1)))
                .build());
    }

    private void progress(String job, int index, int step) {
        view.applyProgress(TaskEvent.newBuilder().setJobId(job).setTaskId(job + "-" + index).setTaskIndex(index).setRelease(1)
                .setAttempt(1).setProgress(TaskProgress.newBuilder().setStep(step).setTotalSteps(4)).build());
    }

    private static List<JsonNode> events(List<JsonNode> frames) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode f : frames) {
            f.path("events").forEach(out::add);
        }
        return out;
    }

    private static Set<Integer> resultIndexes(List<JsonNode> frames) {
        Set<Integer> out = new HashSet<>();
        for (JsonNode f : frames) {
            if (f.path("type").asText().equals("snapshot")) {
                f.path("tasks").forEach(t -> {
                    if (t.path("state").asText().equals("succeeded")) {
                        out.add(t.path("index").asInt());
                    }
                });
            }
            f.path("events").forEach(e -> {
                if (e.path("event").asText().equals("result")) {
                    out.add(e.path("task").path("index").asInt());
                }
            });
        }
        return out;
    }

    @Test
    void aSubscriptionStartsWithASnapshotThenSendsResultsInOrderInOneFrame() {
        job("j", 5, "default");
        succeeded("j", 0);
        assertThat(session.subscribe(List.of("j"), null)).isEmpty();
        session.flush();
        List<JsonNode> first = sink.take();
        assertThat(first).hasSize(1);
        assertThat(first.get(0).path("type").asText()).isEqualTo("snapshot");
        assertThat(first.get(0).path("tasks")).hasSize(5);
        for (int i = 1; i < 5; i++) {
            running("j", i);
            succeeded("j", i);
        }
        session.flush();
        List<JsonNode> frames = sink.take();
        assertThat(frames).hasSize(1);
        List<Integer> results = new ArrayList<>();
        events(frames).stream().filter(e -> e.path("event").asText().equals("result"))
                .forEach(e -> results.add(e.path("task").path("index").asInt()));
        assertThat(results).containsExactly(1, 2, 3, 4);
        assertThat(frames.get(0).path("last_id").asText()).startsWith(log.epoch() + "-");
    }

    @Test
    void progressIsCoalescedToTheLatestStepPerTask() {
        job("p", 2, "default");
        session.subscribe(List.of("p"), null);
        session.flush();
        sink.take();
        running("p", 0);
        for (int step = 1; step <= 3; step++) {
            progress("p", 0, step);
        }
        session.flush();
        List<JsonNode> progress = events(sink.take()).stream().filter(e -> e.path("event").asText().equals("progress")).toList();
        assertThat(progress).hasSize(1);
        assertThat(progress.get(0).path("task").path("step").asInt()).isEqualTo(3);
        assertThat(session.stats().progressReplaced()).isEqualTo(2);
    }

    @Test
    void aPreviewSurvivesCoalescingWithTheLatestStep() {
        job("v", 1, "default");
        session.subscribe(List.of("v"), null);
        session.flush();
        sink.take();
        running("v", 0);
        view.applyProgress(TaskEvent.newBuilder().setJobId("v").setTaskId("v-0").setTaskIndex(0).setRelease(1).setAttempt(1)
                .setProgress(TaskProgress.newBuilder().setStep(2).setTotalSteps(4)
                        .setPreviewPng(com.google.protobuf.ByteString.copyFrom(new byte[] {1, 2, 3}))).build());
        progress("v", 0, 3);
        session.flush();
        List<JsonNode> progress = events(sink.take()).stream().filter(e -> e.path("event").asText().equals("progress")).toList();
        assertThat(progress).hasSize(1);
        assertThat(progress.get(0).path("task").path("step").asInt()).isEqualTo(3);
        assertThat(progress.get(0).path("preview_png").asText()).isEqualTo("AQID");
    }

    @Test
    void progressThatCameBeforeAResultIsNotSentAfterIt() {
        job("o", 1, "default");
        session.subscribe(List.of("o"), null);
        session.flush();
        sink.take();
        running("o", 0);
        progress("o", 0, 2);
        succeeded("o", 0);
        session.flush();
        List<JsonNode> events = events(sink.take()).stream().filter(e -> e.path("type").asText().equals("task")).toList();
        assertThat(events.get(events.size() - 1).path("event").asText()).isEqualTo("result");
        assertThat(events).noneMatch(e -> e.path("event").asText().equals("progress"));
    }

    @Test
    void aStalledClientGetsNothingUntilItReadsThenEveryResult() {
        job("s", 50, "default");
        session.subscribe(List.of("s"), null);
        session.flush();
        sink.take();
        sink.full = true;
        for (int i = 0; i < 50; i++) {
            running("s", i);
            progress("s", i, 1);
            progress("s", i, 2);
            succeeded("s", i);
        }
        session.flush();
        assertThat(sink.frames).isEmpty();
        sink.full = false;
        session.flush();
        assertThat(resultIndexes(sink.take())).hasSize(50);
    }

    @Test
    void aClientStalledPastTheQueueLimitGetsASnapshotInsteadAndStillMissesNoResult() {
        int tasks = ClientSession.MAX_QUEUED; // a start and a result each: twice the limit
        job("big", tasks, "default");
        session.subscribe(List.of("big"), null);
        session.flush();
        sink.take();
        sink.full = true;
        for (int i = 0; i < tasks; i++) {
            running("big", i);
            succeeded("big", i);
        }
        assertThat(session.stats().overflows()).isGreaterThan(0);
        assertThat(session.stats().queued()).isLessThanOrEqualTo(ClientSession.MAX_QUEUED);
        sink.full = false;
        session.flush();
        List<JsonNode> frames = sink.take();
        assertThat(frames.get(0).path("type").asText()).isEqualTo("snapshot");
        assertThat(resultIndexes(frames)).hasSize(tasks);
    }

    @Test
    void resumingWithTheLastIdSeenSendsOnlyWhatWasMissed() {
        job("r", 6, "default");
        session.subscribe(List.of("r"), null);
        session.flush();
        succeeded("r", 0);
        session.flush();
        String lastSeen = sink.frames.get(sink.frames.size() - 1).path("last_id").asText();
        sink.take();
        // the client disconnects; two more results happen; it reconnects with a new session
        succeeded("r", 1);
        succeeded("r", 2);
        ListSink again = new ListSink();
        ClientSession resumed = new ClientSession("default", again, view, log);
        log.onEvent(resumed::offer);
        resumed.subscribe(List.of("r"), lastSeen);
        resumed.flush();
        assertThat(again.frames).hasSize(1);
        assertThat(again.frames.get(0).path("type").asText()).isEqualTo("events");
        assertThat(resultIndexes(again.frames)).containsExactlyInAnyOrder(1, 2);
    }

    @Test
    void anIdFromAnotherRunOrOlderThanTheRingGetsASnapshot() {
        job("x", 200, "default");
        session.subscribe(List.of("x"), null);
        session.flush();
        sink.take();
        String early = log.idOf(log.lastSeq());
        for (int i = 0; i < 200; i++) {
            succeeded("x", i); // 200 updates: more than the ring of 100 keeps
        }
        for (String since : List.of("other-run-7", early)) {
            ListSink again = new ListSink();
            ClientSession resumed = new ClientSession("default", again, view, log);
            resumed.subscribe(List.of("x"), since);
            resumed.flush();
            assertThat(again.frames.get(0).path("type").asText()).as(since).isEqualTo("snapshot");
            assertThat(resultIndexes(again.frames)).hasSize(200);
        }
    }

    @Test
    void allJobsGivesOneSummaryPerJobPerFlushAndOnlyTheTenantsJobs() {
        job("a", 3, "default");
        job("theirs", 3, "other-team");
        session.subscribeAll();
        session.flush();
        List<JsonNode> first = events(sink.take());
        assertThat(first).extracting(e -> e.path("job").path("job_id").asText()).containsExactly("a");
        job("b", 2, "default");
        for (int i = 0; i < 3; i++) {
            succeeded("a", i);
            succeeded("theirs", i);
        }
        session.flush();
        List<JsonNode> events = events(sink.take());
        assertThat(events).extracting(e -> e.path("job").path("job_id").asText()).containsExactlyInAnyOrder("a", "b");
        JsonNode a = events.stream().filter(e -> e.path("job").path("job_id").asText().equals("a")).findFirst().orElseThrow();
        assertThat(a.path("job").path("succeeded").asInt()).isEqualTo(3);
    }

    @Test
    void unknownJobsAndOtherTenantsJobsAreReportedMissing() {
        job("theirs", 1, "other-team");
        assertThat(session.subscribe(List.of("nope", "theirs"), null)).containsExactly("nope", "theirs");
        session.flush();
        assertThat(sink.frames).isEmpty();
    }
}
