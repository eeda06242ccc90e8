package dev.cnfarm.coordinator.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.proto.v1.WorkerState;
import dev.cnfarm.proto.v1.WorkerStatus;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class WorkerViewTest {
    private final AtomicLong now = new AtomicLong(100_000);
    private final WorkerView view = new WorkerView(1000, now::get);

    private static WorkerStatus beat(String id, WorkerState state, long at) {
        return WorkerStatus.newBuilder().setSchemaVersion(1).setWorkerId(id).setState(state).setAtMs(at)
                .setExecutionProvider("CPU").addLoadedModels("skeleton").build();
    }

    @Test
    void freshHeartbeatIsHealthyAndASilentWorkerIsLost() {
        view.apply(beat("a", WorkerState.WORKER_STATE_IDLE, 99_500));
        assertThat(view.list()).singleElement().satisfies(w -> {
            assertThat(w.healthy()).isTrue();
            assertThat(w.state()).isEqualTo("idle");
            assertThat(w.loadedModels()).containsExactly("skeleton");
        });
        now.set(99_500 + 6_000);
        assertThat(view.list()).singleElement().satisfies(w -> {
            assertThat(w.healthy()).isFalse();
            assertThat(w.state()).isEqualTo("lost");
        });
        assertThat(view.healthyCount()).isZero();
    }

    @Test
    void aLostWorkerHoldsNoTask() {
        view.apply(beat("c", WorkerState.WORKER_STATE_BUSY, 99_500).toBuilder().setCurrentTaskId("job-1/t-3").build());
        assertThat(view.list()).singleElement().satisfies(w -> assertThat(w.currentTaskId()).isEqualTo("job-1/t-3"));
        // silent past its heartbeats: its lock has expired and the task is another worker's (or done)
        now.set(99_500 + 6_000);
        assertThat(view.list()).singleElement().satisfies(w -> {
            assertThat(w.state()).isEqualTo("lost");
            assertThat(w.currentTaskId()).isEmpty();
        });
    }

    @Test
    void stoppedWorkerIsNotHealthyAndOldHeartbeatsDoNotWinOverNewer() {
        view.apply(beat("b", WorkerState.WORKER_STATE_STOPPED, 99_900));
        view.apply(beat("b", WorkerState.WORKER_STATE_BUSY, 99_000));
        assertThat(view.list()).singleElement().satisfies(w -> {
            assertThat(w.state()).isEqualTo("stopped");
            assertThat(w.healthy()).isFalse();
        });
    }
}
