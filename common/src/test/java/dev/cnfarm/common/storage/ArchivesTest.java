package dev.cnfarm.common.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A folder survives the trip through one archive; an archive (a tenant's upload) cannot write outside its folder. */
class ArchivesTest {
    @TempDir
    Path dir;

    @Test
    void aFolderComesBackAsItWas() throws Exception {
        Path src = Files.createDirectories(dir.resolve("src/images"));
        Files.writeString(dir.resolve("src/manifest.csv"), "image,text\nimages/a.png,a red square\n");
        Files.write(src.resolve("a.png"), new byte[] {1, 2, 3});
        Archives.unzip(Archives.zip(dir.resolve("src")), dir.resolve("out"));
        assertThat(dir.resolve("out/manifest.csv")).hasContent("image,text\nimages/a.png,a red square\n");
        assertThat(Files.readAllBytes(dir.resolve("out/images/a.png"))).containsExactly(1, 2, 3);
    }

    @Test
    void anEntryThatClimbsOutOfItsFolderIsRefusedAndNothingIsWrittenThere() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry("../escaped.txt"));
            zip.write("x".getBytes());
            zip.closeEntry();
        }
        assertThatThrownBy(() -> Archives.unzip(bytes.toByteArray(), dir.resolve("out")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("../escaped.txt");
        assertThat(dir.resolve("escaped.txt")).doesNotExist();
        assertThatThrownBy(() -> Archives.unzip("not a zip".getBytes(), dir.resolve("out2")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no files");
    }
}
