package dev.cnfarm.coordinator.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.RenderTask;
import java.util.List;
import org.junit.jupiter.api.Test;

class JobExpanderTest {
    @Test
    void matrixIsPromptsTimesControlsTimesSeedsWithSeedsFastest() {
        JobSpec spec = JobSpec.newBuilder()
                .addPrompts("p0").addPrompts("p1")
                .addControlImages(ObjectRef.newBuilder().setKey("uploads/default/c0"))
                .addControlImages(ObjectRef.newBuilder().setKey("uploads/default/c1"))
                .addControlImages(ObjectRef.newBuilder().setKey("uploads/default/c2"))
                .addSeeds(7).addSeeds(8)
                .setSteps(10).setWidth(64).setHeight(64).setModel("skeleton").setBatchSize(3)
                .setControlScale(0.8f).setControlStart(0.1f).setControlEnd(0.9f).setControlMode("prompt").setNoise("torch_cpu")
                .addLoras(dev.cnfarm.proto.v1.LoraRef.newBuilder().setName("ink").setWeight(0.8f).setFile(ObjectRef.newBuilder().setKey("uploads/default/l")))
                .addAdditionalControlnets(dev.cnfarm.proto.v1.ControlNetInput.newBuilder()
                        .setImage(ObjectRef.newBuilder().setKey("uploads/default/pose")).setScale(0.5f).setEnd(1f))
                .build();
        List<RenderTask> tasks = JobExpander.expand("job-1", "default", spec, 5);
        assertThat(JobExpander.taskCount(spec)).isEqualTo(12);
        assertThat(tasks).hasSize(12);
        assertThat(tasks).extracting(RenderTask::getIndex).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        RenderTask t5 = tasks.get(5); // p0, c2, seed 8
        assertThat(t5.getPrompt()).isEqualTo("p0");
        assertThat(t5.getControlnets(0).getImage().getKey()).endsWith("c2");
        assertThat(t5.getControlnets(0).getScale()).isEqualTo(0.8f);
        assertThat(t5.getControlnets(0).getMode()).isEqualTo("prompt");
        assertThat(t5.getControlnetsCount()).as("the matrix's ControlNet, then the job's additional one").isEqualTo(2);
        assertThat(t5.getControlnets(1).getImage().getKey()).endsWith("pose");
        assertThat(t5.getSeed()).isEqualTo(8);
        assertThat(tasks).extracting(RenderTask::getMaxBatch).as("the job's batch_size").containsOnly(3);
        assertThat(tasks).extracting(RenderTask::getNoise).as("the job's noise generator").containsOnly("torch_cpu");
        assertThat(tasks).extracting(RenderTask::getLorasList).as("the job's LoRA on every task").containsOnly(spec.getLorasList());
        assertThat(t5.getTaskId()).isEqualTo("job-1-5");
        assertThat(t5.getOutputKey()).isEqualTo("outputs/default/job-1/000005.png");
        assertThat(tasks.get(6).getPrompt()).isEqualTo("p1");
        assertThat(tasks).extracting(RenderTask::getSchemaVersion).containsOnly(1);
        assertThat(JobExpander.expand("job-1", "default", spec, 5)).isEqualTo(tasks);
    }

    @Test
    void initImagesPairWithControlImagesOrServeAllAndMasksFollowTheirInitImages() {
        JobSpec paired = JobSpec.newBuilder().addPrompts("p").addSeeds(1).setSteps(10).setWidth(64).setHeight(64).setModel("tiny")
                .addControlImages(ObjectRef.newBuilder().setKey("uploads/default/c0")).addControlImages(ObjectRef.newBuilder().setKey("uploads/default/c1"))
                .addInitImages(ObjectRef.newBuilder().setKey("uploads/default/i0")).addInitImages(ObjectRef.newBuilder().setKey("uploads/default/i1"))
                .addMaskImages(ObjectRef.newBuilder().setKey("uploads/default/m")).setStrength(0.6f).setMaskBlur(4).build();
        List<RenderTask> tasks = JobExpander.expand("j", "default", paired, 1);
        assertThat(tasks).extracting(t -> t.getControlnets(0).getImage().getKey() + "+" + t.getInitImage().getKey() + "+" + t.getMaskImage().getKey())
                .containsExactly("uploads/default/c0+uploads/default/i0+uploads/default/m", "uploads/default/c1+uploads/default/i1+uploads/default/m");
        assertThat(tasks).extracting(RenderTask::getStrength).containsOnly(0.6f);
        assertThat(tasks).extracting(RenderTask::getMaskBlur).containsOnly(4);
        JobSpec alone = paired.toBuilder().clearControlImages().clearMaskImages().build();
        List<RenderTask> img2img = JobExpander.expand("j", "default", alone, 1);
        assertThat(img2img).extracting(t -> t.getInitImage().getKey()).containsExactly("uploads/default/i0", "uploads/default/i1");
        assertThat(img2img).allSatisfy(t -> {
            assertThat(t.getControlnetsCount()).isZero();
            assertThat(t.hasMaskImage()).isFalse();
        });
    }

    @Test
    void aTiledUpscaleCutsEachImageIntoTilesThatWaitForItAndABlendThatWaitsForThem() {
        JobSpec spec = JobSpec.newBuilder().addPrompts("p").addSeeds(1).setSteps(10).setWidth(64).setHeight(64).setModel("tiny")
                .setUpscale(dev.cnfarm.proto.v1.TiledUpscale.newBuilder().setScale(4).setTile(128).setOverlap(32).setStrength(0.35f)).build();
        TileGrid grid = TileGrid.of(spec);
        assertThat(grid.xs()).as("every 96 px, the last moved back to end at the edge").containsExactly(0, 96, 128);
        assertThat(JobExpander.taskCount(spec)).isEqualTo(1 + 9 + 1);
        List<RenderTask> tasks = JobExpander.expand("u", "default", spec, 1);
        RenderTask tile = tasks.get(5); // tile 4: the middle one
        assertThat(tile.getWidth()).isEqualTo(128);
        assertThat(tile.getCrop().getX()).isEqualTo(96);
        assertThat(tile.getCrop().getY()).isEqualTo(96);
        assertThat(tile.getCrop().getFullWidth()).isEqualTo(256);
        assertThat(tile.getStrength()).isEqualTo(0.35f);
        assertThat(tile.getDependsOnList()).containsExactly(0);
        RenderTask blend = tasks.get(10);
        assertThat(blend.getWidth()).isEqualTo(256);
        assertThat(blend.getTilesCount()).isEqualTo(9);
        assertThat(blend.getDependsOnList()).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertThat(blend.getOverlap()).isEqualTo(32);
        assertThat(blend.getControlnetsCount()).isZero();
        assertThat(JobExpander.dependencies(spec, 10)).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertThat(JobExpander.stages(spec)).as("what the quote prices: the steps each stage runs, at its size")
                .containsExactly(new JobExpander.Stage("base", 1, 10, 64, 64), new JobExpander.Stage("tiles", 9, 3, 128, 128),
                        new JobExpander.Stage("blend", 1, 0, 256, 256));
    }
}
