package dev.cnfarm.cli.trainer;

import dev.cnfarm.common.storage.Archives;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectNotFoundException;
import dev.cnfarm.common.storage.ObjectStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Brings a training job's data set from S3 into a trainer's work folder, in either of the two forms
 * {@code farm train controlnet --submit} uploads:
 *
 * <ul>
 *   <li>one zip archive of the data set's folder ({@code manifest.csv} at its top);</li>
 *   <li>a manifest whose file cells are upload keys ({@code uploads/TENANT/SHA256}, each file
 *       uploaded like a render job's control image, so large data sets need no archive under the
 *       upload limit and files shared with earlier jobs are not sent again). Every key must be one
 *       of the job's tenant's uploads: a manifest cannot reach another tenant's files.</li>
 * </ul>
 */
final class DatasetFetch {
    private static final byte[] ZIP = {'P', 'K', 3, 4};

    private DatasetFetch() {}

    /** Fetches the data set into {@code dir} (once: a folder holding a manifest already is kept) and returns its manifest.csv. */
    static Path fetch(ObjectStore store, String datasetKey, String tenant, Path dir) {
        Path manifest = dir.resolve("manifest.csv");
        if (Files.isRegularFile(manifest)) {
            return manifest;
        }
        byte[] head = store.get(datasetKey);
        if (head.length >= 4 && head[0] == ZIP[0] && head[1] == ZIP[1] && head[2] == ZIP[2] && head[3] == ZIP[3]) {
            Archives.unzip(head, dir);
            return manifest;
        }
        return fromUploads(store, head, tenant, dir);
    }

    /** A manifest of upload keys: each file fetched once, the manifest rewritten with local paths. */
    private static Path fromUploads(ObjectStore store, byte[] csvBytes, String tenant, Path dir) {
        String prefix = ObjectKeys.uploadPrefix(tenant);
        ManifestTable table;
        try {
            table = ManifestTable.read(csvBytes);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("the data set is neither a zip archive nor a CSV manifest of uploads: " + e.getMessage(), e);
        }
        List<String> columns = table.columns();
        if (!columns.contains("image") || !columns.contains("text")) {
            throw new IllegalArgumentException("the data set's manifest must name the columns image and text; it has " + columns);
        }
        try {
            Files.createDirectories(dir.resolve("files"));
            int line = 1;
            for (Map<String, String> r : table.rows()) {
                line++;
                for (Map.Entry<String, String> cell : r.entrySet()) {
                    String v = cell.getValue();
                    if (!ManifestTable.fileColumn(cell.getKey()) || v == null || v.isBlank() || !v.startsWith("uploads/")) {
                        continue;
                    }
                    if (!v.startsWith(prefix) || v.substring(prefix.length()).contains("/") || v.contains("..")) {
                        throw new IllegalArgumentException("manifest line " + line + ", " + cell.getKey() + ": '" + v + "' is not an upload of "
                                + "tenant " + tenant + " (keys look like " + prefix + "<sha256>)");
                    }
                    String name = "files/" + v.substring(prefix.length());
                    Path local = dir.resolve(name);
                    if (!Files.exists(local)) {
                        byte[] bytes;
                        try {
                            bytes = store.get(v);
                        } catch (ObjectNotFoundException e) {
                            throw new IllegalArgumentException("manifest line " + line + ", " + cell.getKey() + ": '" + v + "' is not in storage; "
                                    + "upload it again", e);
                        }
                        Files.write(local, bytes);
                    }
                    cell.setValue(name);
                }
            }
            Path manifest = dir.resolve("manifest.csv");
            Path tmp = dir.resolve("manifest.csv.tmp");
            table.write(tmp);
            Files.move(tmp, manifest, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return manifest;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the data set into " + dir + ": " + e.getMessage(), e);
        }
    }
}
