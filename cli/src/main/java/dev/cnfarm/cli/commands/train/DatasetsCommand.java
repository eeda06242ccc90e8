package dev.cnfarm.cli.commands.train;

import dev.cnfarm.trainer.data.HeldOutPairs;
import dev.cnfarm.trainer.data.ShapesDataset;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code farm datasets}: generated training data. */
@Command(name = "datasets", mixinStandardHelpOptions = true, description = "Generate training data sets.",
        subcommands = {DatasetsCommand.Shapes.class})
public final class DatasetsCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    /** {@code farm datasets shapes}: captioned images of one coloured shape, with control maps. */
    @Command(name = "shapes", mixinStandardHelpOptions = true,
            description = {"Captioned images of one filled shape (circle, square, triangle, cross, semicircle) of a named colour on a "
                    + "background of another, with their Canny edges and a scribble of the outline, and manifest.csv "
                    + "(image, conditioning_image, scribble_image, text, shape, colour, background).",
                    "The palette and the held-out colour/shape pairs are written to dataset.json."})
    public static final class Shapes implements Callable<Integer> {
        @Option(names = "--count", required = true, description = "number of images")
        int count;

        @Option(names = "--size", defaultValue = "128", description = "image side in pixels, a multiple of 8 (default ${DEFAULT-VALUE})")
        int size;

        @Option(names = "--seed", defaultValue = "1", description = "image i depends only on the seed and i (default ${DEFAULT-VALUE})")
        long seed;

        @Option(names = "--split", defaultValue = "train",
                description = "train: leave out the held-out colour/shape pairs; held-out: only those; all (default ${DEFAULT-VALUE})")
        String split;

        @Option(names = "--out", required = true, description = "folder to write into")
        Path out;

        @Override
        public Integer call() {
            ShapesDataset.Split sp;
            try {
                sp = ShapesDataset.Split.of(split);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--split must be train, held-out or all, not '" + split + "'");
            }
            long t0 = System.nanoTime();
            Path manifest;
            try (ProgressBar bar = new ProgressBarBuilder().setTaskName("images").setInitialMax(count)
                    .setStyle(ProgressBarStyle.UNICODE_BLOCK).setUpdateIntervalMillis(250).build()) {
                manifest = ShapesDataset.write(out, count, size, seed, sp, (done, total) -> bar.stepTo(done));
            }
            System.out.printf("wrote %d images of %dx%d (%s split) and %s in %.1f s%n", count, size, size, split, manifest,
                    (System.nanoTime() - t0) / 1e9);
            System.out.println("held-out colour/shape pairs: " + String.join(", ", HeldOutPairs.describe()));
            return 0;
        }
    }
}
