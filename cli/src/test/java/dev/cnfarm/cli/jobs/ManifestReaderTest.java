package dev.cnfarm.cli.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.cnfarm.common.json.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Manifests (CSV, JSONL), zipped lists and manifest references in job files become the job's rows. */
class ManifestReaderTest {
    @TempDir
    Path dir;

    @Test
    void csvRowsWithEmptyCellsAndQuotedCommas() throws Exception {
        Path m = dir.resolve("rows.csv");
        Files.writeString(m, """
                prompt,control_image,seed,steps,guidance_scale,negative_prompt
                "a house, at dusk",img/a.png,7,,,
                a tower,uploads/default/abc,8,30,4.5,blurry
                """);
        ArrayNode rows = ManifestReader.read(m);
        assertThat(rows).hasSize(2);
        assertThat(rows.get(0).get("prompt").asText()).isEqualTo("a house, at dusk");
        assertThat(rows.get(0).get("seed").asLong()).isEqualTo(7);
        assertThat(rows.get(0).has("steps")).isFalse();
        assertThat(rows.get(1).get("steps").asInt()).isEqualTo(30);
        assertThat(rows.get(1).get("guidance_scale").floatValue()).isEqualTo(4.5f);
        assertThat(rows.get(1).get("negative_prompt").asText()).isEqualTo("blurry");
    }

    @Test
    void jsonLines() throws Exception {
        Path m = dir.resolve("rows.jsonl");
        Files.writeString(m, """
                {"prompt": "a", "control_image": "x.png", "seed": 1}

                {"prompt": "b", "control_image": "y.png", "control_scale": 0.5}
                """);
        ArrayNode rows = ManifestReader.read(m);
        assertThat(rows).hasSize(2);
        assertThat(rows.get(1).get("control_scale").floatValue()).isEqualTo(0.5f);
    }

    @Test
    void problemsNameTheFileTheLineAndTheColumn() throws Exception {
        Path bad = dir.resolve("bad.csv");
        Files.writeString(bad, "prompt,control_image,seed\na,x.png,1\nb,y.png,twelve\n");
        assertThatThrownBy(() -> ManifestReader.read(bad)).hasMessageContaining("bad.csv line 3").hasMessageContaining("seed 'twelve'");
        Path unknown = dir.resolve("unknown.csv");
        Files.writeString(unknown, "prompt,control_image,sede\na,x.png,1\n");
        assertThatThrownBy(() -> ManifestReader.read(unknown)).hasMessageContaining("unknown column 'sede'");
        Path missing = dir.resolve("missing.jsonl");
        Files.writeString(missing, "{\"control_image\": \"a.png\"}\n");
        assertThatThrownBy(() -> ManifestReader.read(missing)).hasMessageContaining("line 1").hasMessageContaining("prompt is required");
        Path notJson = dir.resolve("broken.jsonl");
        Files.writeString(notJson, "{\"prompt\": \"a\", \"control_image\": \"x\"}\n{oops\n");
        assertThatThrownBy(() -> ManifestReader.read(notJson)).hasMessageContaining("line 2");
        assertThatThrownBy(() -> ManifestReader.read(dir.resolve("absent.csv"))).hasMessageContaining("does not exist");
    }

    @Test
    void aJobFileCanNameAManifestWhoseImagesAreRelativeToIt() throws Exception {
        Files.createDirectories(dir.resolve("set/img"));
        Files.write(dir.resolve("set/img/a.png"), new byte[] {1});
        Files.writeString(dir.resolve("set/rows.csv"), "prompt,control_image,seed\np1,img/a.png,1\np2,img/a.png,2\n");
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, "manifest: set/rows.csv\nsteps: 4\nmodel: tiny\n");
        JobFile f = JobFile.read(job);
        assertThat(f.imageCount()).isEqualTo(2);
        assertThat(f.localFiles()).containsExactly(dir.resolve("set/img/a.png"));
        JsonNode body = Json.mapper().readTree(f.resolve(p -> "uploads/default/k"));
        assertThat(body.has("manifest")).isFalse();
        assertThat(body.get("steps").asInt()).isEqualTo(4);
        assertThat(body.get("rows").get(1).get("control_image").asText()).isEqualTo("uploads/default/k");
        assertThat(body.get("rows").get(1).get("prompt").asText()).isEqualTo("p2");
    }

    @Test
    void zippedListsBecomeRowsAndMustHaveOneLength() throws Exception {
        Files.write(dir.resolve("a.png"), new byte[] {1});
        Path job = dir.resolve("zip.yaml");
        Files.writeString(job, "zip:\n  prompts: [x, y]\n  control_images: [a.png, a.png]\n  seeds: [5, 6]\n");
        JsonNode body = Json.mapper().readTree(JobFile.read(job).resolve(p -> "uploads/default/a"));
        assertThat(body.get("rows")).hasSize(2);
        assertThat(body.get("rows").get(1).get("seed").asInt()).isEqualTo(6);
        assertThat(body.get("rows").get(1).get("prompt").asText()).isEqualTo("y");
        Files.writeString(job, "zip:\n  prompts: [x, y]\n  seeds: [5]\n");
        assertThatThrownBy(() -> JobFile.read(job)).hasMessageContaining("zip.seeds has 1 items but zip.prompts has 2");
    }

    @Test
    void aManifestAloneIsAJob() throws Exception {
        Files.write(dir.resolve("a.png"), new byte[] {1});
        Path m = dir.resolve("alone.jsonl");
        Files.writeString(m, "{\"prompt\": \"x\", \"control_image\": \"a.png\"}\n");
        JobFile f = JobFile.fromManifest(m);
        assertThat(f.localFiles()).containsExactly(dir.resolve("a.png"));
        assertThat(Json.mapper().readTree(f.resolve(p -> "k")).get("name").asText()).isEqualTo("alone.jsonl");
    }
}
