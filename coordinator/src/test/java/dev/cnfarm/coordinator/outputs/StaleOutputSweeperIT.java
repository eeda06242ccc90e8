package dev.cnfarm.coordinator.outputs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.common.config.S3Settings;
import dev.cnfarm.common.embedded.EmbeddedS3;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.coordinator.state.JobView;
import dev.cnfarm.proto.v1.JobRecord;
import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.JobState;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.TaskEvent;
import dev.cnfarm.proto.v1.TaskPhase;
import dev.cnfarm.proto.v1.TaskResult;
import dev.cnfarm.proto.v1.TaskStateRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The objects of attempts whose results the scheduler did not record are removed, on a real S3
 * server, whichever arrives first (the stale result or the task's end); the recorded result's
 * objects and those of tasks still running are never touched.
 */
class StaleOutputSweeperIT {
    private static final String JOB = "job-sweep";

    @TempDir
    Path dir;
    private EmbeddedS3 s3;
    private ObjectStore store;
    private final JobView view = new JobView();
    private StaleOutputSweeper sweeper;

    @BeforeEach
    void start() {
        s3 = EmbeddedS3.start(dir, 0, "sweep-access", "sweep-secret-key");
        store = new MinioObjectStore(new S3Settings(s3.endpoint(), "us-east-1", "sweep", "sweep-access", "sweep-secret-key"));
        store.ensureBucket();
        sweeper = new StaleOutputSweeper(view, store);
        sweeper.attach();
        view.applyJob(JobRecord.newBuilder().setSchemaVersion(1).setJobId(JOB).setTenant("default").setTaskCount(3)
                .setState(JobState.JOB_STATE_RUNNING).setSpec(JobSpec.newBuilder().setSteps(4).setWidth(64).setHeight(64)).build());
    }

    @AfterEach
    void stop() {
        sweeper.close();
        store.close();
        s3.close();
    }

    /** Writes what one attempt of task {@code index} writes and returns its image key. */
    private String attempt(int index, int release, int delivery) {
        String key = ObjectKeys.attemptOutput(ObjectKeys.output("default", JOB, index), release, delivery);
        byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
        store.put(key, bytes, "image/png");
        store.put(ObjectKeys.controlMap(key, 0), bytes, "image/png");
        store.put(ObjectKeys.sidecar(key), bytes, "application/json");
        return key;
    }

    private static TaskEvent result(int index, String key) {
        return TaskEvent.newBuilder().setJobId(JOB).setTaskId(JOB + "-" + index).setTaskIndex(index)
                .setResult(TaskResult.newBuilder().setOutput(ObjectRef.newBuilder().setKey(key))).build();
    }

    private static TaskStateRecord ended(int index, TaskPhase phase, String recordedKey) {
        TaskStateRecord.Builder b = TaskStateRecord.newBuilder().setJobId(JOB).setTaskId(JOB + "-" + index).setTaskIndex(index)
                .setPhase(phase).setRelease(1).setDelivery(2).setUpdatedAtMs(1);
        if (recordedKey != null) {
            b.setResult(TaskResult.newBuilder().setOutput(ObjectRef.newBuilder().setKey(recordedKey)));
        }
        return b.build();
    }

    private List<String> keys() {
        return store.list(ObjectKeys.outputPrefix("default", JOB)).stream().map(ObjectInfo::key).toList();
    }

    @Test
    void aStaleResultAfterItsTaskEndedHasItsObjectsRemovedAndTheRecordedOnesStay() {
        String recorded = attempt(0, 1, 2);
        view.applyTaskState(ended(0, TaskPhase.TASK_PHASE_SUCCEEDED, recorded));
        sweeper.onResult(result(0, recorded)); // the recorded result's own event
        String stale = attempt(0, 1, 1);
        view.applyTaskEvent(result(0, stale)); // the paused attempt finished after the task ended

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> keys().size() == 3);
        assertThat(keys()).containsExactlyInAnyOrder(recorded, ObjectKeys.controlMap(recorded, 0), ObjectKeys.sidecar(recorded));
    }

    @Test
    void aStaleResultBeforeItsTaskEndsWaitsAndIsRemovedWhenAnotherAttemptIsRecorded() throws Exception {
        String stale = attempt(1, 1, 1);
        view.applyTaskEvent(result(1, stale)); // the task is still running: nothing can be decided yet
        Thread.sleep(500);
        assertThat(keys()).hasSize(3);

        String recorded = attempt(1, 1, 2);
        view.applyTaskState(ended(1, TaskPhase.TASK_PHASE_SUCCEEDED, recorded));
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> keys().size() == 3 && keys().contains(recorded));
        assertThat(keys()).doesNotContain(stale, ObjectKeys.sidecar(stale), ObjectKeys.controlMap(stale, 0));
    }

    @Test
    void aResultForATaskThatEndedFailedOrCancelledIsRemovedAndTheRecordedResultNever() throws Exception {
        String late = attempt(2, 1, 1);
        view.applyTaskEvent(result(2, late));
        view.applyTaskState(ended(2, TaskPhase.TASK_PHASE_CANCELLED, null));
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> keys().isEmpty());

        String recorded = attempt(0, 2, 1);
        view.applyTaskEvent(result(0, recorded));
        view.applyTaskState(ended(0, TaskPhase.TASK_PHASE_SUCCEEDED, recorded));
        Thread.sleep(1000);
        assertThat(keys()).hasSize(3).contains(recorded);
        assertThat(sweeper.removed()).isEqualTo(3);
    }
}
