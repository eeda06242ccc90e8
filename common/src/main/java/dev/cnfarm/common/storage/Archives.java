package dev.cnfarm.common.storage;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * Folders as one object: a training data set travels to the farm as one upload, and a checkpoint to
 * S3 as one object (an S3 PUT is all or nothing, so a checkpoint there is complete or absent).
 */
public final class Archives {
    private Archives() {}

    /** Every regular file under {@code folder}, by its path relative to it. */
    public static byte[] zip(Path folder) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out); Stream<Path> files = Files.walk(folder)) {
            List<Path> sorted = files.filter(Files::isRegularFile).sorted().toList();
            for (Path f : sorted) {
                zip.putNextEntry(new ZipEntry(folder.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, zip);
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot pack " + folder + ": " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    /**
     * Unpacks into {@code folder} (made if absent). An entry that would land outside it (an
     * absolute path, {@code ..}) is refused: the archive is a tenant's upload.
     */
    public static void unzip(byte[] archive, Path folder) {
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(archive))) {
            Path root = folder.toAbsolutePath().normalize();
            Files.createDirectories(root);
            ZipEntry e;
            int entries = 0;
            while ((e = zip.getNextEntry()) != null) {
                Path target = root.resolve(e.getName()).normalize();
                if (!target.startsWith(root) || target.equals(root)) {
                    throw new IllegalArgumentException("the archive's entry '" + e.getName() + "' points outside its folder");
                }
                if (e.isDirectory()) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(zip, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    entries++;
                }
            }
            if (entries == 0) {
                throw new IllegalArgumentException("the archive holds no files (is it a zip file?)");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("the archive cannot be read as a zip file: " + e.getMessage(), e);
        }
    }
}
