package dev.cnfarm.trainer.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * A ControlNet training set in memory: each row's target image with its caption, and its control
 * image, both of one square size. A row whose image or control image cannot be read or decoded
 * is skipped and counted (with the first few reasons kept for the log), so one damaged file in a
 * data set of thousands does not stop a training job.
 */
public record PairedImages(ImageSet images, ImageSet controls, int skipped, List<String> skipReasons) {
    private static final int REASONS_KEPT = 10;

    public int count() {
        return images.count();
    }

    public static PairedImages load(TrainingManifest m) {
        List<TrainingManifest.Row> rows = m.rows();
        int[][] px = new int[rows.size()][];
        int[][] cx = new int[rows.size()][];
        String[] why = new String[rows.size()];
        IntStream.range(0, rows.size()).parallel().forEach(i -> {
            TrainingManifest.Row r = rows.get(i);
            if (r.conditioningImage() == null) {
                why[i] = r.image().getFileName() + ": no control image";
                return;
            }
            try {
                Images.Rgb img = Images.decode(Files.readAllBytes(r.image()));
                Images.Rgb ctl = Images.decode(Files.readAllBytes(r.conditioningImage()));
                if (img.width() != img.height() || ctl.width() != img.width() || ctl.height() != img.height()) {
                    why[i] = r.image().getFileName() + ": image " + img.width() + "x" + img.height() + " and control image "
                            + ctl.width() + "x" + ctl.height() + " must be square and of one size";
                    return;
                }
                px[i] = img.pixels();
                cx[i] = ctl.pixels();
            } catch (IOException | RuntimeException e) {
                why[i] = r.image().getFileName() + ": " + e.getMessage();
            }
        });
        // the most common side wins; rows of another size are skipped like undecodable ones
        int size = IntStream.range(0, rows.size()).filter(i -> px[i] != null).map(i -> (int) Math.round(Math.sqrt(px[i].length)))
                .boxed().collect(java.util.stream.Collectors.groupingBy(s -> s, java.util.stream.Collectors.counting()))
                .entrySet().stream().max(java.util.Map.Entry.comparingByValue()).map(java.util.Map.Entry::getKey).orElse(0);
        List<int[]> images = new ArrayList<>();
        List<int[]> controls = new ArrayList<>();
        List<String> captions = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        int skipped = 0;
        for (int i = 0; i < rows.size(); i++) {
            String reason = why[i];
            if (reason == null && px[i].length != size * size) {
                reason = rows.get(i).image().getFileName() + " is not " + size + "x" + size + " like the other images";
            }
            if (reason != null) {
                skipped++;
                if (reasons.size() < REASONS_KEPT) {
                    reasons.add(reason);
                }
                continue;
            }
            images.add(px[i]);
            controls.add(cx[i]);
            captions.add(rows.get(i).text());
        }
        if (images.isEmpty()) {
            throw new IllegalArgumentException("no row of " + m.dir() + " has a readable image and control image: " + reasons);
        }
        String[] caps = captions.toArray(new String[0]);
        return new PairedImages(ImageSet.of(size, images.toArray(new int[0][]), caps), ImageSet.of(size, controls.toArray(new int[0][]), caps),
                skipped, List.copyOf(reasons));
    }

    /** Rows {@code from} (inclusive) to {@code to} (exclusive). */
    public PairedImages range(int from, int to) {
        return new PairedImages(images.range(from, to), controls.range(from, to), 0, List.of());
    }

}
