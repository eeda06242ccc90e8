package dev.cnfarm.trainer.data;

import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A training data set: a CSV manifest with a header naming at least {@code image} and {@code text},
 * optionally {@code conditioning_image} (the columns of the common ControlNet training script),
 * paths relative to the manifest's folder. Bad rows are refused with their line number.
 */
public record TrainingManifest(Path dir, List<Row> rows) {

    /** One example: the target image, its caption, and its control image (or null). */
    public record Row(Path image, String text, Path conditioningImage) {}

    /** The column the control images are read from unless a training job names another. */
    public static final String CONDITIONING_COLUMN = "conditioning_image";

    public static TrainingManifest read(Path manifest) {
        return read(manifest, CONDITIONING_COLUMN);
    }

    /**
     * @param conditioningColumn the column whose paths are the control images (a data set may carry
     *                           several conditions, such as the shapes data's Canny and scribble maps)
     */
    public static TrainingManifest read(Path manifest, String conditioningColumn) {
        Path dir = manifest.toAbsolutePath().getParent();
        List<Row> rows = new ArrayList<>();
        CsvMapper csv = new CsvMapper();
        try (MappingIterator<Map<String, String>> it = csv.readerForMapOf(String.class)
                .with(CsvSchema.emptySchema().withHeader()).readValues(manifest.toFile())) {
            int line = 1;
            while (it.hasNext()) {
                line++;
                Map<String, String> r = it.next();
                if (line == 2 && (!r.containsKey("image") || !r.containsKey("text"))) {
                    throw new IllegalArgumentException(manifest + ": the header must name the columns image and text (and may name "
                            + "conditioning_image); it has " + r.keySet());
                }
                if (line == 2 && !conditioningColumn.equals(CONDITIONING_COLUMN) && !r.containsKey(conditioningColumn)) {
                    throw new IllegalArgumentException(manifest + ": there is no column " + conditioningColumn + " for the control images; "
                            + "the header has " + r.keySet());
                }
                String image = r.get("image");
                if (image == null || image.isBlank()) {
                    throw new IllegalArgumentException(manifest + " line " + line + ": image is empty");
                }
                Path img = dir.resolve(image);
                if (!Files.isRegularFile(img)) {
                    throw new IllegalArgumentException(manifest + " line " + line + ": image " + image + " does not exist");
                }
                String cond = r.get(conditioningColumn);
                rows.add(new Row(img, r.getOrDefault("text", ""), cond == null || cond.isBlank() ? null : dir.resolve(cond)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the manifest " + manifest + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (e instanceof IllegalArgumentException) {
                throw e;
            }
            throw new IllegalArgumentException("cannot read the manifest " + manifest + ": " + e.getMessage(), e);
        }
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(manifest + " has no rows: a manifest is a header line (image,text,...) and a row per example");
        }
        return new TrainingManifest(dir, List.copyOf(rows));
    }
}
