package dev.cnfarm.cli.trainer;

import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A data set manifest as a table of cells, for rewriting its file cells (local paths to upload keys
 * on the way up, upload keys to local paths on a trainer) and writing it back with its columns in
 * their order. Checking the rows is {@code TrainingManifest}'s job, on the rewritten file.
 *
 * @param rows each row's cells by column (mutable: cells are replaced in place)
 */
public record ManifestTable(List<String> columns, List<Map<String, String>> rows) {
    private static final CsvMapper CSV = new CsvMapper();

    public static ManifestTable read(byte[] csv) throws IOException {
        List<Map<String, String>> rows = new ArrayList<>();
        List<String> columns = new ArrayList<>();
        try (MappingIterator<Map<String, String>> it = CSV.readerForMapOf(String.class).with(CsvSchema.emptySchema().withHeader())
                .readValues(csv)) {
            while (it.hasNext()) {
                Map<String, String> r = new LinkedHashMap<>(it.next());
                if (columns.isEmpty()) {
                    columns.addAll(r.keySet());
                }
                rows.add(r);
            }
        }
        return new ManifestTable(columns, rows);
    }

    /** Whether a column holds files (every column but the captions). */
    public static boolean fileColumn(String column) {
        return !column.equals("text");
    }

    public void write(Path file) throws IOException {
        CsvSchema.Builder schema = CsvSchema.builder().setUseHeader(true);
        columns.forEach(schema::addColumn);
        CSV.writer(schema.build()).writeValue(file.toFile(), rows);
    }
}
