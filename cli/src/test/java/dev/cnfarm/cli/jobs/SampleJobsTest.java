package dev.cnfarm.cli.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.coordinator.api.JobLimits;
import dev.cnfarm.coordinator.api.JobRequestParser;
import dev.cnfarm.coordinator.api.JobValidator;
import dev.cnfarm.proto.v1.JobSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every render job in samples/ names files that exist and passes the coordinator's validation as it
 * is; every training job there passes the training job's checks.
 */
class SampleJobsTest {
    private static final Path SAMPLES = Path.of("../samples").toAbsolutePath().normalize();

    @Test
    void everySampleRenderJobIsValid() throws Exception {
        List<Path> jobs;
        try (Stream<Path> files = Files.list(SAMPLES)) {
            jobs = files.filter(p -> p.getFileName().toString().endsWith("-job.yaml")).sorted().toList();
        }
        assertThat(jobs).extracting(p -> p.getFileName().toString())
                .contains("demo-job.yaml", "controlnet-job.yaml", "shapes-control-job.yaml");
        JobValidator validator = new JobValidator(JobLimits.defaults(1000), key -> Optional.of(new ObjectInfo(key, 1234, "", "image/png")));
        for (Path job : jobs) {
            JobFile f = JobFile.read(job);
            assertThat(f.localFiles()).as(job.getFileName().toString()).allSatisfy(p -> assertThat(p).isRegularFile());
            String json = f.resolve(p -> "uploads/default/" + "ab".repeat(32));
            JobSpec spec = validator.validate(JobRequestParser.parse(json), "default");
            assertThat(spec.getModel()).as(job.getFileName().toString()).isNotEmpty();
        }
    }

    @Test
    void everySampleTrainingJobIsValid() throws Exception {
        List<Path> jobs;
        try (Stream<Path> files = Files.list(SAMPLES)) {
            jobs = files.filter(p -> p.getFileName().toString().startsWith("train-")).sorted().toList();
        }
        assertThat(jobs).isNotEmpty();
        for (Path job : jobs) {
            dev.cnfarm.common.training.ControlNetJob j = dev.cnfarm.common.training.ControlNetJob.parse(
                    new com.fasterxml.jackson.dataformat.yaml.YAMLMapper().readTree(job.toFile()));
            assertThat(SAMPLES.resolve(j.base()).resolve("model.json")).as(job.getFileName() + ": base").isRegularFile();
        }
    }
}
