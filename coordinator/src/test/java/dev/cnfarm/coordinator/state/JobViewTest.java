package dev.cnfarm.coordinator.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.proto.v1.FailureCause;
import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.JobState;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.TaskPhase;
import dev.cnfarm.proto.v1.TaskProgress;
import dev.cnfarm.proto.v1.TrainingSample;
import dev.cnfarm.proto.v1.TaskResult;
import dev.cnfarm.proto.v1.TaskStateRecord;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The view mirrors the scheduler's task states and adds live progress. */
class JobViewTest {
    private final JobView view = new JobView();
    private final List<JobUpdate> updates = new ArrayList<>();

    JobViewTest() {
        view.onUpdate(updates::add);
    }

    private static JobRecord job(String id, int tasks) {
        return JobRecord.newBuilder().setSchemaVersion(1).setJobId(id).setTenant("default").setTaskCount(tasks)
                .setState(JobState.JOB_STATE_SUBMITTED)
                .setSpec(JobSpec.newBuilder().setSteps(4).setWidth(64).setHeight(64)).build();
    }

    private static TaskStateRecord.Builder state(String job, int index, TaskPhase phase, int release, int delivery) {
        return TaskStateRecord.newBuilder().setJobId(job).setTaskId(job + "-" + index).setTaskIndex(index).setPhase(phase)
                .setRelease(release).setDelivery(delivery).setWorkerId("w").setUpdatedAtMs(1000 + index).setStartedAtMs(900);
    }

    private static TaskStateRecord succeeded(String job, int index) {
        return state(job, index, TaskPhase.TASK_PHASE_SUCCEEDED, 1, 1).setResult(TaskResult.newBuilder()
                .setOutput(ObjectRef.newBuilder().setKey("k" + index).setSha256("s").setSizeBytes(10))).build();
    }

    private static TaskEvent progress(String job, int index, int release, int delivery, int step) {
        return TaskEvent.newBuilder().setJobId(job).setTaskId(job + "-" + index).setTaskIndex(index).setRelease(release)
                .setAttempt(delivery).setProgress(TaskProgress.newBuilder().setStep(step).setTotalSteps(4)).build();
    }

    @Test
    void countsAndProgressFollowTheTaskStates() {
        view.applyJob(job("j", 3));
        assertThat(view.summary("j").orElseThrow().queued()).isEqualTo(3);
        view.applyTaskState(state("j", 0, TaskPhase.TASK_PHASE_RUNNING, 1, 1).build());
        view.applyProgress(progress("j", 0, 1, 1, 2));
        JobSummary s = view.summary("j").orElseThrow();
        assertThat(s.running()).isEqualTo(1);
        assertThat(s.queued()).isEqualTo(2);
        assertThat(s.state()).isEqualTo("running");
        assertThat(s.progress()).isCloseTo(0.5 / 3, org.assertj.core.data.Offset.offset(1e-6));
        view.applyTaskState(succeeded("j", 0));
        view.applyTaskState(succeeded("j", 0)); // read again on replay: no change, no update
        assertThat(updates.stream().filter(u -> "result".equals(u.event()))).hasSize(1);
        assertThat(view.summary("j").orElseThrow().succeeded()).isEqualTo(1);
        assertThat(view.succeededTasks("j")).singleElement().extracting(TaskSnapshot::outputKey).isEqualTo("k0");
    }

    @Test
    void anEndedJobsProgressIsExactlyOne() {
        // fractions such as 1/3 and 1/7 added and taken away leave a sum a few ulps off
        view.applyJob(job("x", 7));
        for (int i = 0; i < 7; i++) {
            view.applyTaskState(state("x", i, TaskPhase.TASK_PHASE_RUNNING, 1, 1).build());
            for (int s = 1; s <= 6; s++) {
                view.applyProgress(progress("x", i, 1, 1, s).toBuilder()
                        .setProgress(TaskProgress.newBuilder().setStep(s).setTotalSteps(7 + i % 3)).build());
            }
        }
        for (int i = 0; i < 7; i++) {
            view.applyTaskState(succeeded("x", i));
        }
        assertThat(view.summary("x").orElseThrow().progress()).isEqualTo(1.0);
        assertThat(String.valueOf(view.summary("x").orElseThrow().progress())).isEqualTo("1.0");
    }

    @Test
    void progressOfAnotherAttemptIsIgnored() {
        view.applyJob(job("p", 1));
        view.applyTaskState(state("p", 0, TaskPhase.TASK_PHASE_RUNNING, 1, 2).build());
        view.applyProgress(progress("p", 0, 1, 1, 3)); // the attempt that lost its lock
        assertThat(view.snapshot("p").orElseThrow().tasks().get(0).step()).isZero();
        view.applyProgress(progress("p", 0, 1, 2, 1));
        assertThat(view.snapshot("p").orElseThrow().tasks().get(0).step()).isEqualTo(1);
    }

    @Test
    void progressThatOvertakesTheStartIsKept() {
        view.applyJob(job("o", 1));
        view.applyTaskState(state("o", 0, TaskPhase.TASK_PHASE_RELEASED, 1, 0).build());
        view.applyProgress(progress("o", 0, 1, 1, 2));
        assertThat(updates).filteredOn(u -> "progress".equals(u.event())).hasSize(1);
        view.applyTaskState(state("o", 0, TaskPhase.TASK_PHASE_RUNNING, 1, 1).build());
        assertThat(view.snapshot("o").orElseThrow().tasks().get(0).step()).isEqualTo(2);
    }

    @Test
    void retryingTaskShowsItsLastErrorAndAttempt() {
        view.applyJob(job("f", 1));
        view.applyTaskState(state("f", 0, TaskPhase.TASK_PHASE_RETRY_WAIT, 2, 1)
                .setLastCause(FailureCause.FAILURE_CAUSE_STORAGE_UNAVAILABLE).setLastError("s3 down").build());
        TaskSnapshot t = view.snapshot("f").orElseThrow().tasks().get(0);
        assertThat(t.state()).isEqualTo("retrying");
        assertThat(t.attempt()).isEqualTo(2);
        assertThat(t.error()).isEqualTo("storage_unavailable: s3 down");
        view.applyTaskState(state("f", 0, TaskPhase.TASK_PHASE_FAILED, 3, 1)
                .setLastCause(FailureCause.FAILURE_CAUSE_BAD_INPUT).setLastError("bad png").build());
        assertThat(view.summary("f").orElseThrow().state()).as("all tasks ended, one failed").isEqualTo("failed");
    }

    @Test
    void cancelledJobCountsItsUnreleasedTasksAsCancelled() {
        view.applyJob(job("c", 10));
        view.applyTaskState(succeeded("c", 0));
        view.applyTaskState(state("c", 1, TaskPhase.TASK_PHASE_CANCELLED, 1, 0).build());
        view.applyJob(job("c", 10).toBuilder().setState(JobState.JOB_STATE_CANCELLED).build());
        JobSummary s = view.summary("c").orElseThrow();
        assertThat(s.state()).isEqualTo("cancelled");
        assertThat(s.cancelled()).isEqualTo(9);
        assertThat(s.succeeded()).isEqualTo(1);
        assertThat(s.queued()).isZero();
    }

    @Test
    void taskStatesBeforeTheirJobAreHeldUntilItArrives() {
        view.applyTaskState(succeeded("late", 0));
        assertThat(view.summary("late")).isEmpty();
        view.applyJob(job("late", 1));
        assertThat(view.summary("late").orElseThrow().succeeded()).isEqualTo(1);
    }

    @Test
    void aTrainingTasksLossAndRateReachItsSnapshot() {
        view.applyJob(job("job-train", 1));
        view.applyTaskState(state("job-train", 0, TaskPhase.TASK_PHASE_RUNNING, 1, 1).build());
        view.applyProgress(TaskEvent.newBuilder().setJobId("job-train").setTaskId("job-train-0").setTaskIndex(0).setRelease(1).setAttempt(1)
                .setProgress(TaskProgress.newBuilder().setStep(40).setTotalSteps(100).setLoss(0.125).setLearningRate(1e-3)).build());
        TaskSnapshot t = view.task("job-train", 0).orElseThrow();
        assertThat(t.step()).isEqualTo(40);
        assertThat(t.loss()).isEqualTo(0.125);
        assertThat(t.learningRate()).isEqualTo(1e-3);
    }

    @Test
    void aTrainingTasksCurveIsBoundedCutBackOnResumeAndKeepsItsSamples() {
        view.applyJob(job("job-curve", 1));
        view.applyTaskState(state("job-curve", 0, TaskPhase.TASK_PHASE_RUNNING, 1, 1).build());
        for (int step = 1; step <= 5000; step++) {
            view.applyProgress(trainingStep("job-curve", 1, step, 1.0 / step));
        }
        @SuppressWarnings("unchecked")
        List<double[]> loss = (List<double[]>) view.trainingHistory("job-curve", 0).orElseThrow().get("loss");
        assertThat(loss.size()).as("bounded, however long the run").isBetween(500, TrainingHistory.MAX_POINTS);
        assertThat(loss.get(loss.size() - 1)[0]).isEqualTo(5000);

        view.applyProgress(TaskEvent.newBuilder().setJobId("job-curve").setTaskId("job-curve-0").setTaskIndex(0).setRelease(1).setAttempt(1)
                .setProgress(TaskProgress.newBuilder().setStep(5000).setTotalSteps(9000).setPreviewPng(com.google.protobuf.ByteString.copyFrom(
                        new byte[] {1})).setSample(TrainingSample.newBuilder().setKey("outputs/t/j/samples/s.png").setEdgeF1(0.7)
                        .setBaselineEdgeF1(0.2))).build());
        TaskSnapshot t = view.task("job-curve", 0).orElseThrow();
        assertThat(t.loss()).as("a sample event keeps the last loss").isEqualTo(1.0 / 5000);
        assertThat(t.edgeF1()).isEqualTo(0.7);
        assertThat(t.sampleKey()).isEqualTo("outputs/t/j/samples/s.png");

        // another trainer resumes from a checkpoint (step 4095): the curve goes on from there
        view.applyTaskState(state("job-curve", 0, TaskPhase.TASK_PHASE_RUNNING, 1, 2).build());
        view.applyProgress(trainingStep("job-curve", 2, 4096, 0.5));
        @SuppressWarnings("unchecked")
        List<double[]> resumed = (List<double[]>) view.trainingHistory("job-curve", 0).orElseThrow().get("loss");
        assertThat(resumed.get(resumed.size() - 1)).containsExactly(4096, 0.5);
        assertThat(resumed).allSatisfy(p -> assertThat(p[0]).isLessThanOrEqualTo(4096));
        assertThat(view.trainingHistory("job-curve", 0).orElseThrow().get("samples")).asList().isEmpty();
        assertThat(view.trainingHistory("job-curve", 1)).as("no such task").isEmpty();
    }

    private static TaskEvent trainingStep(String job, int attempt, int step, double loss) {
        return TaskEvent.newBuilder().setJobId(job).setTaskId(job + "-0").setTaskIndex(0).setRelease(1).setAttempt(attempt)
                .setProgress(TaskProgress.newBuilder().setStep(step).setTotalSteps(9000).setLoss(loss).setLearningRate(1e-3)
                        .setStepsPerSecond(2)).build();
    }
}
