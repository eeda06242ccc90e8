package dev.cnfarm.coordinator.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.proto.v1.FailureCause;
import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.JobState;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.TaskFailed;
import dev.cnfarm.proto.v1.TaskProgress;
import dev.cnfarm.proto.v1.TaskResult;
import dev.cnfarm.proto.v1.TaskStarted;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class JobViewTest {
    private final JobView view = new JobView();
    private final List<JobRecord> finished = new ArrayList<>();
    private final List<JobUpdate> updates = new ArrayList<>();

    JobViewTest() {
        view.onFinished(finished::add);
        view.onUpdate(updates::add);
    }

    private static JobRecord job(String id, int tasks) {
        return JobRecord.newBuilder().setSchemaVersion(1).setJobId(id).setTenant("default").setTaskCount(tasks)
                .setState(JobState.JOB_STATE_SUBMITTED)
                .setSpec(JobSpec.newBuilder().setSteps(4).setWidth(64).setHeight(64)).build();
    }

    private static TaskEvent.Builder ev(String job, int index, int attempt) {
        return TaskEvent.newBuilder().setSchemaVersion(1).setJobId(job).setTaskId(job + "-" + index).setTaskIndex(index)
                .setWorkerId("w").setAttempt(attempt).setAtMs(1000 + index);
    }

    private static TaskEvent result(String job, int index, int attempt) {
        return ev(job, index, attempt).setResult(TaskResult.newBuilder()
                .setOutput(ObjectRef.newBuilder().setKey("k" + index).setSha256("s").setSizeBytes(10))).build();
    }

    @Test
    void jobFinishesOnceWhenEveryTaskHasAResult() {
        view.applyJob(job("j", 2));
        view.applyEvent(ev("j", 0, 1).setStarted(TaskStarted.getDefaultInstance()).build());
        view.applyEvent(ev("j", 0, 1).setProgress(TaskProgress.newBuilder().setStep(2).setTotalSteps(4)).build());
        assertThat(view.summary("j").orElseThrow().progress()).isEqualTo(0.25);
        view.applyEvent(result("j", 0, 1));
        view.applyEvent(result("j", 0, 1)); // duplicate from a redelivery: dropped
        assertThat(view.summary("j").orElseThrow().succeeded()).isEqualTo(1);
        assertThat(finished).isEmpty();
        view.applyEvent(result("j", 1, 1));
        assertThat(finished).singleElement().satisfies(r -> assertThat(r.getState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED));
        assertThat(view.summary("j").orElseThrow().state()).isEqualTo("succeeded");
        view.applyEvent(result("j", 1, 2));
        assertThat(finished).hasSize(1);
    }

    @Test
    void retryableFailureRequeuesAndFinalFailureEndsTheTask() {
        view.applyJob(job("f", 1));
        view.applyEvent(ev("f", 0, 1).setStarted(TaskStarted.getDefaultInstance()).build());
        view.applyEvent(ev("f", 0, 1).setFailed(TaskFailed.newBuilder().setCause(FailureCause.FAILURE_CAUSE_STORAGE_UNAVAILABLE)
                .setRetryable(true).setMessage("s3 down")).build());
        TaskSnapshot t = view.snapshot("f").orElseThrow().tasks().get(0);
        assertThat(t.state()).isEqualTo("queued");
        assertThat(t.error()).contains("storage_unavailable").contains("s3 down");
        view.applyEvent(ev("f", 0, 2).setFailed(TaskFailed.newBuilder().setCause(FailureCause.FAILURE_CAUSE_BAD_INPUT)
                .setMessage("bad png")).build());
        assertThat(view.snapshot("f").orElseThrow().tasks().get(0).state()).isEqualTo("failed");
        assertThat(finished).singleElement().satisfies(r -> assertThat(r.getState()).isEqualTo(JobState.JOB_STATE_FAILED));
    }

    @Test
    void staleAttemptDoesNotMoveANewerOneBack() {
        view.applyJob(job("s", 1));
        view.applyEvent(ev("s", 0, 2).setStarted(TaskStarted.getDefaultInstance()).build());
        view.applyEvent(ev("s", 0, 1).setFailed(TaskFailed.newBuilder().setRetryable(true)).build());
        assertThat(view.snapshot("s").orElseThrow().tasks().get(0).state()).isEqualTo("running");
    }

    @Test
    void eventsBeforeTheirJobAreHeldUntilItArrives() {
        view.applyEvent(result("late", 0, 1));
        assertThat(view.summary("late")).isEmpty();
        view.applyJob(job("late", 1));
        assertThat(view.summary("late").orElseThrow().succeeded()).isEqualTo(1);
    }

    @Test
    void replayedFinishedJobIsNotFinishedAgain() {
        view.applyJob(job("done", 1).toBuilder().setState(JobState.JOB_STATE_SUCCEEDED).build());
        view.applyEvent(result("done", 0, 1));
        assertThat(finished).isEmpty();
        assertThat(view.summary("done").orElseThrow().state()).isEqualTo("succeeded");
    }
}
