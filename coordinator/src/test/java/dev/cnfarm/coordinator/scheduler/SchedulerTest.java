package dev.cnfarm.coordinator.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.common.config.SchedulerSettings;
import dev.cnfarm.proto.v1.CancelJob;
import dev.cnfarm.proto.v1.FailureCause;
import dev.cnfarm.proto.v1.JobCommand;
import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.JobState;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.RenderTask;
import dev.cnfarm.proto.v1.ResumeJob;
import dev.cnfarm.proto.v1.SetPriority;
import dev.cnfarm.proto.v1.SuspendJob;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.TaskFailed;
import dev.cnfarm.proto.v1.TaskPhase;
import dev.cnfarm.proto.v1.TaskResult;
import dev.cnfarm.proto.v1.TaskStarted;
import dev.cnfarm.proto.v1.TaskStateRecord;
import dev.cnfarm.proto.v1.WorkerState;
import dev.cnfarm.proto.v1.WorkerStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The scheduling rules, on a map store and a hand-moved clock. */
class SchedulerTest {
    private final MapSchedulerStore store = new MapSchedulerStore();
    private final List<SchedulerOutput> out = new ArrayList<>();
    private long now = 1_000_000;
    private Scheduler scheduler;

    @BeforeEach
    void setUp() {
        scheduler = newScheduler(new SchedulerSettings(2, 4, 3, 2, 1000, 8000, 0, 10_000, 2000));
    }

    private Scheduler newScheduler(SchedulerSettings settings) {
        Scheduler s = new Scheduler(settings, store, out::add, () -> now);
        s.recover();
        return s;
    }

    @Test
    void eachPoolHasItsOwnWindowSizedByItsWorkers() {
        // a pool with no workers yet: its job takes the minimum window of its own pool only
        submit("big-gpu", "acme", 50, 10, "gpu48");
        assertThat(releases()).hasSize(4).allSatisfy(t -> assertThat(t.getPool()).isEqualTo("gpu48"));
        out.clear();
        submit("plain", "acme", 50, 0);
        assertThat(releases()).as("a lower-priority job of the default pool is not held up").hasSize(4)
                .allSatisfy(t -> assertThat(t.getPool()).isEmpty());
        out.clear();
        // three workers join the gpu48 pool: only that pool's window grows, to 2 x 3
        for (String w : List.of("g1", "g2", "g3")) {
            scheduler.onHeartbeat(WorkerStatus.newBuilder().setWorkerId(w).setPool("gpu48").setState(WorkerState.WORKER_STATE_IDLE).build());
        }
        assertThat(releases()).hasSize(2).extracting(RenderTask::getJobId).containsOnly("big-gpu");
        assertThat(scheduler.window("gpu48")).isEqualTo(6);
        assertThat(scheduler.window()).as("the default pool has no workers").isEqualTo(4);
        assertThat(scheduler.inFlight("gpu48")).isEqualTo(6);
        assertThat(scheduler.inFlight("default")).isEqualTo(4);
        // a task of the default pool ending makes room there, not in gpu48
        out.clear();
        finish("plain", 0);
        assertThat(releases()).extracting(RenderTask::getJobId).containsExactly("plain");
    }

    @Test
    void theWindowCountsTheTasksEachWorkerTakesAtOnce() {
        submit("bulk", "acme", 100, 0);
        out.clear();
        // one worker taking 4 at once and one taking 1: 2 x (4 + 1)
        scheduler.onHeartbeat(WorkerStatus.newBuilder().setWorkerId("gpu").setMaxBatch(4).setState(WorkerState.WORKER_STATE_IDLE).build());
        scheduler.onHeartbeat(WorkerStatus.newBuilder().setWorkerId("cpu").setState(WorkerState.WORKER_STATE_BUSY).build());
        assertThat(scheduler.window()).isEqualTo(10);
        assertThat(scheduler.inFlight()).isEqualTo(10);
        // the batching worker stops: back to 2 x 1, at least the minimum of 4
        scheduler.onHeartbeat(WorkerStatus.newBuilder().setWorkerId("gpu").setMaxBatch(4).setState(WorkerState.WORKER_STATE_STOPPED).build());
        assertThat(scheduler.window()).isEqualTo(4);
    }

    @Test
    void aRecoveredSchedulerKnowsEachPoolsTasksInFlight() {
        submit("big-gpu", "acme", 50, 0, "gpu48");
        submit("plain", "acme", 50, 0);
        Scheduler again = newScheduler(new SchedulerSettings(2, 4, 3, 2, 1000, 8000, 0, 10_000, 2000));
        assertThat(again.inFlight("gpu48")).isEqualTo(4);
        assertThat(again.inFlight("default")).isEqualTo(4);
        assertThat(again.inFlight()).isEqualTo(8);
    }

    @Test
    void releasesNoMoreThanTheWindowAndTopsItUpAsTasksEnd() {
        submit("big", "acme", 100, 0);
        assertThat(releases()).hasSize(4).extracting(RenderTask::getIndex).containsExactly(0, 1, 2, 3);
        // three workers report: the window grows to 2 x 3
        for (String w : List.of("w1", "w2", "w3")) {
            scheduler.onHeartbeat(WorkerStatus.newBuilder().setWorkerId(w).setState(WorkerState.WORKER_STATE_IDLE).build());
        }
        assertThat(releases()).hasSize(6);
        out.clear();
        started("big", 0, 1, 1, "w1");
        result("big", 0, 1, 1, "w1");
        assertThat(releases()).extracting(RenderTask::getIndex).containsExactly(6);
        // workers that stop reporting no longer count
        now += 10_000;
        scheduler.tick();
        assertThat(scheduler.window()).isEqualTo(4);
    }

    @Test
    void urgentJobGoesNextAndTenantsShareFairly() {
        submit("big", "acme", 10_000, 0);
        out.clear();
        now += 1;
        submit("urgent", "acme", 2, 10);
        now += 1;
        submit("other-team", "zeta", 5, 0);
        // the window is full of the big job: the next free slots go to the urgent job first
        finish("big", 0);
        finish("big", 1);
        assertThat(releases()).extracting(RenderTask::getJobId).containsExactly("urgent", "urgent");
        out.clear();
        // then fair share: zeta has nothing in flight, acme has the rest of the window
        finish("big", 2);
        assertThat(releases()).extracting(RenderTask::getJobId).containsExactly("other-team");
    }

    @Test
    void priorityCanBeChangedAfterSubmit() {
        submit("a", "t", 10, 0);
        now += 1;
        submit("b", "t", 10, 0);
        out.clear();
        command("b", JobCommand.newBuilder().setSetPriority(SetPriority.newBuilder().setPriority(5)));
        assertThat(jobs()).last().extracting(r -> r.getSpec().getPriority()).isEqualTo(5);
        finish("a", 0);
        assertThat(releases()).extracting(RenderTask::getJobId).containsExactly("b");
    }

    @Test
    void contentFailuresSpendTheBudgetThenTheTaskFailsWithItsReason() {
        submit("j", "t", 1, 0);
        for (int release = 1; release <= 3; release++) {
            started("j", 0, release, 1, "w1");
            failed("j", 0, release, 1, FailureCause.FAILURE_CAUSE_BAD_INPUT, "not an image", false);
            now += 1000;
            scheduler.tick();
        }
        TaskStateRecord t = lastState("j-0");
        assertThat(t.getPhase()).isEqualTo(TaskPhase.TASK_PHASE_FAILED);
        assertThat(t.getContentFailures()).isEqualTo(3);
        assertThat(t.getLastError()).contains("not an image").contains("failed all 3 attempts");
        assertThat(jobs()).last().satisfies(r -> {
            assertThat(r.getState()).isEqualTo(JobState.JOB_STATE_FAILED);
            assertThat(r.getFailedCount()).isEqualTo(1);
        });
        assertThat(releases()).extracting(RenderTask::getRelease).containsExactly(1, 2, 3);
    }

    @Test
    void aPermanentContentFailureEndsTheTaskAtOnce() {
        submit("j", "t", 1, 0);
        started("j", 0, 1, 1, "w1");
        scheduler.onEvent(event("j", 0, 1, 1, "w1").setFailed(TaskFailed.newBuilder().setCause(FailureCause.FAILURE_CAUSE_BAD_INPUT)
                .setMessage("the image cannot be decoded").setRetryable(false).setPermanent(true)).build());
        now += 10_000;
        scheduler.tick();
        TaskStateRecord t = lastState("j-0");
        assertThat(t.getPhase()).isEqualTo(TaskPhase.TASK_PHASE_FAILED);
        assertThat(t.getContentFailures()).isEqualTo(1);
        assertThat(t.getLastError()).isEqualTo("the image cannot be decoded");
        assertThat(releases()).as("released once, not tried again").extracting(RenderTask::getRelease).containsExactly(1);
        assertThat(jobs()).last().satisfies(r -> assertThat(r.getState()).isEqualTo(JobState.JOB_STATE_FAILED));
    }

    @Test
    void infrastructureFailuresBackOffWithoutSpendingTheBudget() {
        submit("j", "t", 1, 0);
        started("j", 0, 1, 1, "w1");
        failed("j", 0, 1, 1, FailureCause.FAILURE_CAUSE_STORAGE_UNAVAILABLE, "S3 down", true);
        assertThat(lastState("j-0").getPhase()).isEqualTo(TaskPhase.TASK_PHASE_RETRY_WAIT);
        assertThat(lastState("j-0").getRetryAtMs()).isEqualTo(now + 1000);
        now += 999;
        scheduler.tick();
        assertThat(releases()).hasSize(1);
        now += 1;
        scheduler.tick();
        assertThat(releases()).hasSize(2);
        started("j", 0, 2, 1, "w1");
        failed("j", 0, 2, 1, FailureCause.FAILURE_CAUSE_STORAGE_UNAVAILABLE, "S3 down", true);
        assertThat(lastState("j-0").getRetryAtMs()).as("backoff doubles").isEqualTo(now + 2000);
        assertThat(lastState("j-0").getContentFailures()).isZero();
        now += 2000;
        scheduler.tick();
        started("j", 0, 3, 1, "w1");
        failed("j", 0, 3, 1, FailureCause.FAILURE_CAUSE_STORAGE_UNAVAILABLE, "S3 down", true);
        assertThat(lastState("j-0").getPhase()).as("past max-infra-retries (2)").isEqualTo(TaskPhase.TASK_PHASE_FAILED);
        assertThat(lastState("j-0").getLastError()).contains("gave up after 3 infrastructure failures");
    }

    @Test
    void staleAttemptsNeverOverwriteNewerStateAndOnlyOneResultCounts() {
        submit("j", "t", 1, 0);
        started("j", 0, 1, 1, "w-old");
        // the old worker's lock ran out; the share group gave the task to another worker
        started("j", 0, 1, 2, "w-new");
        result("j", 0, 1, 1, "w-old");
        assertThat(lastState("j-0").getPhase()).as("stale result dropped").isEqualTo(TaskPhase.TASK_PHASE_RUNNING);
        assertThat(lastState("j-0").getWorkerId()).isEqualTo("w-new");
        result("j", 0, 1, 2, "w-new");
        TaskStateRecord done = lastState("j-0");
        assertThat(done.getPhase()).isEqualTo(TaskPhase.TASK_PHASE_SUCCEEDED);
        assertThat(done.getResult().getOutput().getKey()).endsWith("w-new");
        int changes = out.size();
        result("j", 0, 1, 2, "w-new"); // a duplicate delivery of the same result
        assertThat(out).hasSize(changes);
        assertThat(jobs()).last().extracting(JobRecord::getSucceededCount).isEqualTo(1);
    }

    @Test
    void eventsOfAnEarlierReleaseAreStale() {
        submit("j", "t", 1, 0);
        started("j", 0, 1, 1, "w1");
        failed("j", 0, 1, 1, FailureCause.FAILURE_CAUSE_OUT_OF_MEMORY, "oom", true);
        now += 1000;
        scheduler.tick();
        started("j", 0, 2, 1, "w2");
        result("j", 0, 1, 1, "w1"); // late result of the first release
        assertThat(lastState("j-0").getPhase()).isEqualTo(TaskPhase.TASK_PHASE_RUNNING);
    }

    @Test
    void cancelEndsReleasedTasksDropsTheRestAndTellsWorkers() {
        submit("j", "t", 50, 0);
        started("j", 0, 1, 1, "w1");
        result("j", 0, 1, 1, "w1");
        out.clear();
        command("j", JobCommand.newBuilder().setCancel(CancelJob.getDefaultInstance()));
        assertThat(out).filteredOn(o -> o instanceof SchedulerOutput.Control).hasSize(1);
        assertThat(out).filteredOn(o -> o instanceof SchedulerOutput.TaskChanged)
                .extracting(o -> ((SchedulerOutput.TaskChanged) o).state().getPhase()).containsOnly(TaskPhase.TASK_PHASE_CANCELLED).hasSize(4);
        JobRecord r = jobs().get(jobs().size() - 1);
        assertThat(r.getState()).isEqualTo(JobState.JOB_STATE_CANCELLED);
        assertThat(r.getSucceededCount()).isEqualTo(1);
        assertThat(r.getCancelledCount()).isEqualTo(49);
        assertThat(store.taskCount()).as("task state of an ended job is dropped").isZero();
        out.clear();
        result("j", 1, 1, 1, "w2"); // a worker that had not heard yet
        assertThat(out).isEmpty();
    }

    @Test
    void suspendedJobsWaitAndResumeWhereTheyWere() {
        submit("j", "t", 10, 0);
        command("j", JobCommand.newBuilder().setSuspend(SuspendJob.getDefaultInstance()));
        out.clear();
        finish("j", 0);
        assertThat(releases()).isEmpty();
        command("j", JobCommand.newBuilder().setResume(ResumeJob.getDefaultInstance()));
        assertThat(releases()).extracting(RenderTask::getIndex).containsExactly(4);
    }

    @Test
    void deadLetteredTaskEndsFailed() {
        submit("j", "t", 2, 0);
        started("j", 0, 1, 5, "w1");
        RenderTask dead = releasesAll().get(0);
        scheduler.onDeadLetter(dead);
        assertThat(lastState("j-0").getPhase()).isEqualTo(TaskPhase.TASK_PHASE_FAILED);
        assertThat(lastState("j-0").getLastCause()).isEqualTo(FailureCause.FAILURE_CAUSE_DELIVERY_LIMIT);
        finish("j", 1);
        assertThat(jobs()).last().extracting(JobRecord::getState).isEqualTo(JobState.JOB_STATE_FAILED);
    }

    @Test
    void duplicateSubmitKeepsTheFirstJob() {
        submit("j", "t", 3, 0);
        int before = out.size();
        submit("j", "t", 7, 0);
        assertThat(out).hasSize(before);
        assertThat(store.job("j").orElseThrow().getRecord().getTaskCount()).isEqualTo(3);
        assertThat(store.job("j").orElseThrow().getRecord().hasSpec()).as("the spec is stored once, apart").isFalse();
        assertThat(store.spec("j").orElseThrow().getSeedsCount()).isEqualTo(3);
    }

    @Test
    void stateSurvivesARestartOfTheScheduler() {
        submit("j", "t", 20, 0);
        started("j", 0, 1, 1, "w1");
        failed("j", 0, 1, 1, FailureCause.FAILURE_CAUSE_STORAGE_UNAVAILABLE, "down", true);
        // a new scheduler on the same store, as after a coordinator restart
        scheduler = newScheduler(new SchedulerSettings(2, 4, 3, 2, 1000, 8000, 0, 10_000, 2000));
        assertThat(scheduler.inFlight()).as("the window was topped up after the failure").isEqualTo(4);
        out.clear();
        now += 1000;
        scheduler.tick();
        assertThat(releases()).as("a retry waits for room in the window too").isEmpty();
        finish("j", 1);
        assertThat(releases()).extracting(RenderTask::getIndex, RenderTask::getRelease).containsExactly(org.assertj.core.groups.Tuple.tuple(0, 2));
        IntStream.range(2, 20).forEach(i -> finish("j", i));
        finish("j", 0, 2);
        assertThat(jobs()).last().extracting(JobRecord::getState).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    }

    /**
     * A hires job of 3 images: tasks 3..5 refine tasks 0..2. A second pass is released only once
     * its base task succeeded (across a restart too), carrying the base output as its init image;
     * one whose base failed ends failed without being released, naming the reason.
     */
    @Test
    void aSecondPassWaitsForItsBaseTaskAndEndsAsItWhenTheBaseFails() {
        JobSpec spec = JobSpec.newBuilder().addPrompts("p").addSeeds(1).addSeeds(2).addSeeds(3).setSteps(4).setWidth(64).setHeight(64)
                .setModel("tiny").setHires(dev.cnfarm.proto.v1.HiresFix.newBuilder().setScale(2).setStrength(0.5f).setSteps(3)).build();
        command("h", JobCommand.newBuilder().setTenant("t").setSubmit(JobRecord.newBuilder().setJobId("h").setTenant("t").setSpec(spec)
                .setTaskCount(6).setSubmittedAtMs(now)));
        assertThat(releases()).as("the window has room for 4, but the second passes wait").extracting(RenderTask::getIndex)
                .containsExactly(0, 1, 2);
        out.clear();
        finish("h", 1);
        assertThat(releases()).as("task 3 waits for task 0; later ones wait behind it").isEmpty();
        // a restart in between: the wait is read from the stored task states
        scheduler = newScheduler(new SchedulerSettings(2, 4, 3, 2, 1000, 8000, 0, 10_000, 2000));
        finish("h", 0);
        assertThat(releases()).extracting(RenderTask::getIndex).containsExactly(3, 4);
        RenderTask second = releases().get(0);
        assertThat(second.getInitImage().getKey()).as("the base image is the second pass's init image").isEqualTo("outputs/h/0/w1");
        assertThat(second.getWidth()).isEqualTo(128);
        assertThat(second.getSteps()).isEqualTo(3);
        assertThat(second.getStrength()).isEqualTo(0.5f);
        assertThat(second.getStage()).isEqualTo(1);
        assertThat(releases().get(1).getInitImage().getKey()).isEqualTo("outputs/h/1/w1");
        out.clear();
        started("h", 2, 1, 1, "w1");
        scheduler.onEvent(event("h", 2, 1, 1, "w1").setFailed(TaskFailed.newBuilder().setCause(FailureCause.FAILURE_CAUSE_BAD_INPUT)
                .setMessage("undecodable").setPermanent(true)).build());
        assertThat(releases()).as("task 5 is never released").isEmpty();
        assertThat(lastState("h-5").getPhase()).isEqualTo(TaskPhase.TASK_PHASE_FAILED);
        assertThat(lastState("h-5").getLastError()).contains("task 2", "failed: undecodable");
        assertThat(lastState("h-5").getLastCause()).as("the base task's cause").isEqualTo(FailureCause.FAILURE_CAUSE_BAD_INPUT);
        finish("h", 3);
        finish("h", 4);
        assertThat(jobs()).last().satisfies(j -> {
            assertThat(j.getState()).isEqualTo(JobState.JOB_STATE_FAILED);
            assertThat(j.getSucceededCount()).isEqualTo(4);
            assertThat(j.getFailedCount()).isEqualTo(2);
        });
    }

    // ---------------------------------------------------------------- helpers

    private void submit(String id, String tenant, int tasks, int priority) {
        submit(id, tenant, tasks, priority, "");
    }

    private void submit(String id, String tenant, int tasks, int priority, String pool) {
        JobSpec spec = JobSpec.newBuilder().setPool(pool).addPrompts("p").addControlImages(ObjectRef.newBuilder().setKey("uploads/t/x"))
                .addAllSeeds(IntStream.range(0, tasks).mapToObj(i -> (long) i).toList()).setSteps(4).setWidth(64).setHeight(64)
                .setModel("tiny").setPriority(priority).build();
        command(id, JobCommand.newBuilder().setTenant(tenant).setSubmit(JobRecord.newBuilder().setJobId(id).setTenant(tenant)
                .setSpec(spec).setTaskCount(tasks).setSubmittedAtMs(now)));
    }

    private void command(String id, JobCommand.Builder c) {
        scheduler.onCommand(c.setJobId(id).setAtMs(now).build());
    }

    private void finish(String job, int index) {
        finish(job, index, 1);
    }

    private void finish(String job, int index, int release) {
        started(job, index, release, 1, "w1");
        result(job, index, release, 1, "w1");
    }

    private TaskEvent.Builder event(String job, int index, int release, int delivery, String worker) {
        return TaskEvent.newBuilder().setJobId(job).setTaskId(job + "-" + index).setTaskIndex(index).setRelease(release)
                .setAttempt(delivery).setWorkerId(worker).setAtMs(now);
    }

    private void started(String job, int index, int release, int delivery, String worker) {
        scheduler.onEvent(event(job, index, release, delivery, worker).setStarted(TaskStarted.getDefaultInstance()).build());
    }

    private void result(String job, int index, int release, int delivery, String worker) {
        scheduler.onEvent(event(job, index, release, delivery, worker).setResult(TaskResult.newBuilder()
                .setOutput(ObjectRef.newBuilder().setKey("outputs/" + job + "/" + index + "/" + worker))).build());
    }

    private void failed(String job, int index, int release, int delivery, FailureCause cause, String msg, boolean retryable) {
        scheduler.onEvent(event(job, index, release, delivery, "w1").setFailed(TaskFailed.newBuilder().setCause(cause)
                .setMessage(msg).setRetryable(retryable)).build());
    }

    private List<RenderTask> releases() {
        return releasesAll();
    }

    private List<RenderTask> releasesAll() {
        return out.stream().filter(o -> o instanceof SchedulerOutput.Release).map(o -> ((SchedulerOutput.Release) o).task()).toList();
    }

    private List<JobRecord> jobs() {
        return out.stream().filter(o -> o instanceof SchedulerOutput.JobChanged).map(o -> ((SchedulerOutput.JobChanged) o).job()).toList();
    }

    private TaskStateRecord lastState(String taskId) {
        TaskStateRecord last = null;
        for (SchedulerOutput o : out) {
            if (o instanceof SchedulerOutput.TaskChanged c && c.state().getTaskId().equals(taskId)) {
                last = c.state();
            }
        }
        return last;
    }
}
