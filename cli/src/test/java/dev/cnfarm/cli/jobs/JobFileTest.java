package dev.cnfarm.cli.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobFileTest {
    @TempDir
    Path dir;

    @Test
    void localImagesAreUploadedOnceAndReplacedByKeys() throws Exception {
        Files.createDirectories(dir.resolve("img"));
        Files.write(dir.resolve("img/a.png"), new byte[] {1});
        Files.write(dir.resolve("img/b.png"), new byte[] {2});
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, """
                prompts: [x]
                control_images: [img/a.png, img/b.png, img/a.png, uploads/default/already-there]
                steps: 5
                """);
        List<Path> uploaded = new ArrayList<>();
        String json = JobFile.read(job).resolve(p -> {
            uploaded.add(p);
            return "uploads/default/" + p.getFileName();
        });
        assertThat(uploaded).hasSize(2);
        JsonNode node = Json.mapper().readTree(json);
        assertThat(node.get("control_images")).extracting(JsonNode::asText)
                .containsExactly("uploads/default/a.png", "uploads/default/b.png", "uploads/default/a.png", "uploads/default/already-there");
        assertThat(node.get("steps").asInt()).isEqualTo(5);
    }

    @Test
    void loraFilesAreUploadedReplacedByKeysAndNamedAfterTheirFileWhenUnnamed() throws Exception {
        Files.createDirectories(dir.resolve("loras"));
        Files.write(dir.resolve("loras/ink-wash.safetensors"), new byte[] {3});
        Path job = dir.resolve("lora-job.yaml");
        Files.writeString(job, """
                prompts: [x]
                loras:
                  - {file: loras/ink-wash.safetensors, weight: 0.8}
                  - {name: grain, file: uploads/default/already-there}
                """);
        List<Path> uploaded = new ArrayList<>();
        JsonNode node = Json.mapper().readTree(JobFile.read(job).resolve(p -> {
            uploaded.add(p);
            return "uploads/default/" + p.getFileName();
        }));
        assertThat(uploaded).containsExactly(dir.resolve("loras/ink-wash.safetensors"));
        assertThat(node.get("loras").get(0).get("name").asText()).isEqualTo("ink-wash");
        assertThat(node.get("loras").get(0).get("file").asText()).isEqualTo("uploads/default/ink-wash.safetensors");
        assertThat(node.get("loras").get(0).get("weight").asDouble()).isEqualTo(0.8);
        assertThat(node.get("loras").get(1).get("file").asText()).isEqualTo("uploads/default/already-there");
        Files.writeString(job, "prompts: [x]\nloras: [{file: nope.safetensors}]\n");
        assertThatThrownBy(() -> JobFile.read(job).localFiles()).hasMessageContaining("loras[0].file").hasMessageContaining("nope.safetensors");
    }

    @Test
    void initAndMaskImagesAreUploadedLikeControlImages() throws Exception {
        Files.write(dir.resolve("photo.png"), new byte[] {4});
        Files.write(dir.resolve("mask.png"), new byte[] {5});
        Path job = dir.resolve("inpaint.yaml");
        Files.writeString(job, "prompts: [x]\ninit_images: [photo.png]\nmask_images: [mask.png]\nstrength: 0.6\n");
        JsonNode node = Json.mapper().readTree(JobFile.read(job).resolve(p -> "uploads/default/" + p.getFileName()));
        assertThat(node.at("/init_images/0").asText()).isEqualTo("uploads/default/photo.png");
        assertThat(node.at("/mask_images/0").asText()).isEqualTo("uploads/default/mask.png");
        Files.writeString(job, "prompts: [x]\ninit_images: [absent.png]\n");
        assertThatThrownBy(() -> JobFile.read(job).localFiles()).hasMessageContaining("init_images[0]");
    }

    @Test
    void missingImageIsNamedByItsPosition() throws Exception {
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, "prompts: [x]\ncontrol_images: [nope.png]\n");
        assertThatThrownBy(() -> JobFile.read(job).localFiles())
                .hasMessageContaining("control_images[0]").hasMessageContaining("nope.png");
    }

    @Test
    void notAMappingIsRefused() throws Exception {
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, "- just\n- a list\n");
        assertThatThrownBy(() -> JobFile.read(job)).hasMessageContaining("mapping");
        assertThatThrownBy(() -> JobFile.read(dir.resolve("absent.yaml"))).hasMessageContaining("does not exist");
    }
}
