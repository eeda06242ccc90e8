package dev.cnfarm.worker.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.proto.v1.RenderTask;
import org.junit.jupiter.api.Test;

/** The PNG's parameters text says which noise generator and LoRA made the image, as A1111 writes them. */
class PngParametersTest {
    @Test
    void torchCpuNoiseIsWrittenAsA1111sRngSetting() {
        RenderTask t = RenderTask.newBuilder().setPrompt("a house").setSteps(20).setScheduler("euler_a").setGuidanceScale(7f).setSeed(3)
                .setWidth(64).setHeight(64).setModel("tiny").build();
        assertThat(TaskProcessor.parameters(t)).doesNotContain("RNG");
        assertThat(TaskProcessor.parameters(t.toBuilder().setNoise("torch_cpu").build())).endsWith(", RNG: CPU");
        assertThat(TaskProcessor.parameters(t.toBuilder().setNoise("cuda_philox").build())).endsWith(", RNG: NV");
    }

    @Test
    void loraIsATagInThePromptAsA1111WritesItOnceEvenWhenThePromptHasIt() {
        RenderTask t = RenderTask.newBuilder().setPrompt("a house").setNegativePrompt("blurry").setSteps(20).setScheduler("euler")
                .setGuidanceScale(7f).setSeed(3).setWidth(64).setHeight(64).setModel("shapes")
                .addLoras(dev.cnfarm.proto.v1.LoraRef.newBuilder().setName("ink wash").setWeight(0.8f))
                .addLoras(dev.cnfarm.proto.v1.LoraRef.newBuilder().setName("grain").setWeight(-0.25f)).build();
        assertThat(TaskProcessor.parameters(t)).startsWith("a house <lora:ink wash:0.8> <lora:grain:-0.25>\nNegative prompt: blurry\n");
        RenderTask tagged = t.toBuilder().setPrompt("a house <lora:ink wash:0.8>").build();
        assertThat(TaskProcessor.parameters(tagged)).startsWith("a house <lora:ink wash:0.8> <lora:grain:-0.25>\n");
    }

    @Test
    void stagesSayWhatTheyAreAndImg2imgItsStrength() {
        RenderTask t = RenderTask.newBuilder().setPrompt("a house").setSteps(20).setScheduler("euler").setGuidanceScale(7f).setSeed(3)
                .setWidth(128).setHeight(128).setModel("shapes").build();
        RenderTask tile = t.toBuilder().setStage(1).addDependsOn(0).setStrength(0.35f)
                .setInitImage(dev.cnfarm.proto.v1.ObjectRef.newBuilder().setKey("outputs/x"))
                .setCrop(dev.cnfarm.proto.v1.TileCrop.newBuilder().setX(96).setY(0).setFullWidth(256).setFullHeight(256)).build();
        assertThat(TaskProcessor.parameters(tile)).endsWith(", Tile: 96,0 of 256x256, Denoising strength: 0.35");
        RenderTask hires = tile.toBuilder().clearCrop().build();
        assertThat(TaskProcessor.parameters(hires)).endsWith(", Hires pass of task: 0, Denoising strength: 0.35");
        RenderTask blend = t.toBuilder().setStage(2).setOverlap(32)
                .addTiles(dev.cnfarm.proto.v1.TilePlacement.getDefaultInstance()).addTiles(dev.cnfarm.proto.v1.TilePlacement.getDefaultInstance())
                .build();
        assertThat(TaskProcessor.parameters(blend)).endsWith(", Blend of tiles: 2, Tile overlap: 32");
    }
}
