package dev.cnfarm.cli.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.common.config.S3Settings;
import dev.cnfarm.common.embedded.EmbeddedS3;
import dev.cnfarm.common.storage.Archives;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.trainer.data.ShapesDataset;
import dev.cnfarm.trainer.data.TrainingManifest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A trainer fetches a data set from the embedded S3 server in either form the CLI uploads: one zip
 * archive, or a manifest of upload keys (each file fetched once, the manifest rewritten with local
 * paths); a manifest naming another tenant's upload, or one that is gone, is refused by line.
 */
class DatasetFetchIT {
    @TempDir
    Path dir;

    @Test
    void aZipOrAManifestOfUploadsBecomesALocalDataSetAndOtherTenantsFilesAreRefused() throws Exception {
        try (EmbeddedS3 s3 = EmbeddedS3.start(dir.resolve("s3"), 0, "fetch-access", "fetch-secret-key");
             ObjectStore store = new MinioObjectStore(new S3Settings(s3.endpoint(), "us-east-1", "fetch", "fetch-access", "fetch-secret-key"))) {
            store.ensureBucket();
            Path manifest = ShapesDataset.write(dir.resolve("data"), 4, 64, 5, ShapesDataset.Split.TRAIN, (d, t) -> { });
            Path data = manifest.getParent();

            byte[] zip = Archives.zip(data);
            String zipKey = store.put(ObjectKeys.upload("studio", Sha256.of(zip)), zip, "application/zip").key();
            Path fromZip = DatasetFetch.fetch(store, zipKey, "studio", dir.resolve("work-zip"));
            assertThat(TrainingManifest.read(fromZip).rows()).hasSize(4);

            // the manifest with each file replaced by the key it was uploaded under
            List<String> lines = Files.readAllLines(manifest);
            StringBuilder keyed = new StringBuilder(lines.get(0)).append('\n');
            for (String line : lines.subList(1, lines.size())) {
                String[] cells = line.split(",", -1);
                for (int i = 0; i < cells.length; i++) {
                    Path f = data.resolve(cells[i]);
                    if (!cells[i].isEmpty() && Files.isRegularFile(f)) {
                        byte[] bytes = Files.readAllBytes(f);
                        cells[i] = store.put(ObjectKeys.upload("studio", Sha256.of(bytes)), bytes, "image/png").key();
                    }
                }
                keyed.append(String.join(",", cells)).append('\n');
            }
            byte[] csv = keyed.toString().getBytes(StandardCharsets.UTF_8);
            String csvKey = store.put(ObjectKeys.upload("studio", Sha256.of(csv)), csv, "text/csv").key();
            Path fromUploads = DatasetFetch.fetch(store, csvKey, "studio", dir.resolve("work-uploads"));
            TrainingManifest m = TrainingManifest.read(fromUploads);
            assertThat(m.rows()).hasSize(4);
            assertThat(Files.readAllBytes(m.rows().get(0).image())).isEqualTo(Files.readAllBytes(data.resolve(lines.get(1).split(",")[0])));
            assertThat(m.rows().get(0).text()).isEqualTo(TrainingManifest.read(manifest).rows().get(0).text());

            // the same manifest read by another tenant's job: its keys are not that tenant's
            assertThatThrownBy(() -> DatasetFetch.fetch(store, csvKey, "rival", dir.resolve("work-rival")))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("line 2").hasMessageContaining("not an upload of tenant rival");

            // a file that is no longer in storage
            String firstKey = keyed.toString().split("\n")[1].split(",")[0];
            store.delete(firstKey);
            assertThatThrownBy(() -> DatasetFetch.fetch(store, csvKey, "studio", dir.resolve("work-gone")))
                    .hasMessageContaining(firstKey).hasMessageContaining("not in storage");
        }
    }
}
