package dev.cnfarm.trainer.data;

import dev.cnfarm.worker.preprocess.ControlMaps;
import dev.cnfarm.worker.preprocess.ImageLimits;
import dev.cnfarm.worker.preprocess.Preprocessors;
import dev.cnfarm.worker.preprocess.ResizeMode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.opencv.core.Mat;

/**
 * Writes the generated captioned "shapes" data set: per image the picture
 * ({@code images/NNNNNN.png}), its Canny edges made by the farm's own {@code canny} preprocessor
 * ({@code canny/}), a scribble of its outline ({@code scribble/}), and a row of
 * {@code manifest.csv} with the columns training reads ({@code image}, {@code conditioning_image},
 * {@code text}) plus the scribble and what the picture shows ({@code shape}, {@code colour},
 * {@code background}) for evaluations. Image i depends only on the seed and i.
 */
public final class ShapesDataset {
    public static final String MANIFEST = "manifest.csv";
    public static final List<String> COLUMNS = List.of("image", "conditioning_image", "scribble_image", "text", "shape", "colour",
            "background");

    /** Which colour/shape pairs a data set may contain. */
    public enum Split {
        /** every pair but the held-out ones ({@link HeldOutPairs}) */
        TRAIN,
        /** only the held-out pairs */
        HELD_OUT,
        /** every pair */
        ALL;

        public static Split of(String s) {
            return valueOf(s.toUpperCase(Locale.ROOT).replace('-', '_'));
        }

        boolean admits(NamedColour c, ShapeKind k) {
            return switch (this) {
                case TRAIN -> !HeldOutPairs.heldOut(c, k);
                case HELD_OUT -> HeldOutPairs.heldOut(c, k);
                case ALL -> true;
            };
        }
    }

    /** Told how many images are written. */
    @FunctionalInterface
    public interface Progress {
        void done(int written, int total);
    }

    private ShapesDataset() {}

    /** The scene of image {@code index}: a function of the seed, the split and the index only. */
    public static ShapeScene scene(long seed, Split split, int size, int index) {
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
        ShapeKind[] kinds = ShapeKind.values();
        NamedColour[] colours = NamedColour.values();
        while (true) {
            ShapeKind k = kinds[rnd.nextInt(kinds.length)];
            NamedColour c = colours[rnd.nextInt(colours.length)];
            NamedColour bg = colours[rnd.nextInt(colours.length)];
            if (bg != c && split.admits(c, k)) {
                return ShapeScene.random(k, c, bg, size, rnd);
            }
        }
    }

    public static Path write(Path dir, int count, int size, long seed, Split split, Progress progress) {
        if (count < 1) {
            throw new IllegalArgumentException("count: must be at least 1, got " + count);
        }
        if (size < 32 || size > 1024 || size % 8 != 0) {
            throw new IllegalArgumentException("size: must be a multiple of 8 from 32 to 1024, got " + size);
        }
        try {
            for (String sub : List.of("images", "canny", "scribble")) {
                Files.createDirectories(dir.resolve(sub));
            }
            String[] rows = new String[count];
            java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
            IntStream.range(0, count).parallel().forEach(i -> {
                ShapeScene s = scene(seed, split, size, i);
                String name = String.format(Locale.ROOT, "%06d.png", i);
                byte[] png = Images.png(s.render(), size, size);
                write(dir.resolve("images").resolve(name), png);
                write(dir.resolve("canny").resolve(name), canny(png, size));
                write(dir.resolve("scribble").resolve(name), Images.png(s.scribble(), size, size));
                rows[i] = String.join(",", "images/" + name, "canny/" + name, "scribble/" + name, s.caption(), s.kind().word(),
                        s.colour().word(), s.background().word());
                progress.done(done.incrementAndGet(), count);
            });
            StringBuilder csv = new StringBuilder(String.join(",", COLUMNS)).append('\n');
            for (String r : rows) {
                csv.append(r).append('\n');
            }
            Path manifest = dir.resolve(MANIFEST);
            Files.writeString(manifest, csv);
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("generator", "cnfarm shapes v1");
            info.put("count", count);
            info.put("size", size);
            info.put("seed", seed);
            info.put("split", split.name().toLowerCase(Locale.ROOT));
            info.put("held_out_pairs", HeldOutPairs.describe());
            Map<String, List<Integer>> palette = new LinkedHashMap<>();
            for (NamedColour c : NamedColour.values()) {
                palette.put(c.word(), List.of(c.r(), c.g(), c.b()));
            }
            info.put("palette", palette);
            info.put("shapes", java.util.Arrays.stream(ShapeKind.values()).map(ShapeKind::word).toList());
            dev.cnfarm.common.json.Json.mapper().writerWithDefaultPrettyPrinter().writeValue(dir.resolve("dataset.json").toFile(), info);
            return manifest;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the data set to " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Canny edges of a PNG exactly as a render worker makes them (default thresholds). */
    public static byte[] canny(byte[] png, int size) {
        Mat map = Preprocessors.controlMap("canny", png, Map.of(), size, size, ResizeMode.JUST_RESIZE, ImageLimits.defaults(), null);
        try {
            return ControlMaps.encodePng(map);
        } finally {
            map.release();
        }
    }

    private static void write(Path p, byte[] bytes) {
        try {
            Files.write(p, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The rows of a manifest written here (for tests and evaluations). */
    public static List<String[]> rows(Path manifest) throws IOException {
        List<String[]> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(manifest);
        for (String l : lines.subList(1, lines.size())) {
            if (!l.isBlank()) {
                out.add(l.split(","));
            }
        }
        return out;
    }
}
