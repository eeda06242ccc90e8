package dev.cnfarm.worker.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.proto.v1.ControlNetInput;
import dev.cnfarm.proto.v1.RenderTask;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class MicroBatchesTest {

    private static RenderTask task(String id) {
        return RenderTask.newBuilder().setTaskId(id).setModel("tiny").setWidth(64).setHeight(64).setSteps(20).setScheduler("euler")
                .setGuidanceScale(7.5f).setSeed(id.hashCode()).setPrompt("prompt " + id)
                .addControlnets(ControlNetInput.newBuilder().setScale(1f).setStart(0f).setEnd(1f).setMode("balanced")).build();
    }

    private static List<List<String>> ids(List<List<RenderTask>> batches) {
        return batches.stream().map(b -> b.stream().map(RenderTask::getTaskId).toList()).toList();
    }

    @Test
    void compatibleTasksShareABatchUpToTheWorkersLimit() {
        List<RenderTask> tasks = List.of(task("a"), task("b"), task("c"), task("d"), task("e"));
        assertThat(ids(MicroBatches.group(tasks, Function.identity(), 4))).containsExactly(List.of("a", "b", "c", "d"), List.of("e"));
        assertThat(ids(MicroBatches.group(tasks, Function.identity(), 1))).hasSize(5);
    }

    @Test
    void promptsSeedsScalesAndControlModesMayDifferButNotWhatShapesTheRun() {
        RenderTask base = task("a");
        RenderTask otherScale = base.toBuilder().setTaskId("scale").setGuidanceScale(3f)
                .setControlnets(0, base.getControlnets(0).toBuilder().setScale(0.4f).setMode("control")).build();
        RenderTask noGuidance = base.toBuilder().setTaskId("g1").setGuidanceScale(1f).build();
        RenderTask size = base.toBuilder().setTaskId("size").setWidth(72).build();
        RenderTask steps = base.toBuilder().setTaskId("steps").setSteps(21).build();
        RenderTask sched = base.toBuilder().setTaskId("sched").setScheduler("ddim").build();
        RenderTask model = base.toBuilder().setTaskId("model").setModel("other").build();
        RenderTask window = base.toBuilder().setTaskId("window").setControlnets(0, base.getControlnets(0).toBuilder().setEnd(0.5f)).build();
        RenderTask endZeroIsOne = base.toBuilder().setTaskId("end0").setControlnets(0, base.getControlnets(0).toBuilder().setEnd(0f)).build();
        List<List<RenderTask>> batches = MicroBatches.group(List.of(base, otherScale, noGuidance, size, steps, sched, model, window,
                endZeroIsOne), Function.identity(), 8);
        assertThat(ids(batches)).containsExactly(List.of("a", "scale", "end0"), List.of("g1"), List.of("size"), List.of("steps"),
                List.of("sched"), List.of("model"), List.of("window"));
    }

    @Test
    void aJobsBatchSizeCapsTheBatchesItsTasksJoin() {
        RenderTask one = task("one").toBuilder().setMaxBatch(1).build();
        RenderTask two1 = task("two1").toBuilder().setMaxBatch(2).build();
        RenderTask two2 = task("two2").toBuilder().setMaxBatch(2).build();
        RenderTask any = task("any");
        assertThat(ids(MicroBatches.group(List.of(one, any, two1, two2), Function.identity(), 8)))
                .containsExactly(List.of("one"), List.of("any", "two1"), List.of("two2"));
        assertThat(ids(MicroBatches.group(List.of(task("x"), task("y"), task("z")), Function.identity(), 8)))
                .as("no cap: the worker's").containsExactly(List.of("x", "y", "z"));
    }
}
