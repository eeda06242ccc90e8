package dev.cnfarm.trainer.controlnet;

import dev.cnfarm.common.config.SessionSettings;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.trainer.data.ControlFidelity;
import dev.cnfarm.trainer.data.Images;
import dev.cnfarm.trainer.data.PairedImages;
import dev.cnfarm.trainer.data.ShapesDataset;
import dev.cnfarm.trainer.train.Checkpoint;
import dev.cnfarm.trainer.train.SampleGrid;
import dev.cnfarm.worker.engine.ControlMode;
import dev.cnfarm.worker.engine.ControlUnit;
import dev.cnfarm.worker.engine.ExecutionProviders;
import dev.cnfarm.worker.engine.SdRenderer;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.StepListener;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Samples of a ControlNet while it trains: at each sample interval the checkpoint's ControlNet is
 * built into a bundle with the base (as the farm will serve it) and the first held-out rows are
 * rendered through the render workers' engine with their control maps, at fixed seeds so that
 * grids of different steps compare. Each sample is scored by the edge F1 of its Canny edges
 * against those of the row's own image; the same rows at control scale 0 (the base alone) are the
 * baseline, rendered once. The ControlNet's effect is the gap between the two, and the curve of
 * that gap against steps shows the paper's "sudden convergence".
 */
final class TrainingSamples {
    /** Samples are drawn with Euler at guidance 7.5 (the farm's defaults). */
    private static final float GUIDANCE = 7.5f;
    private static final String SCHEDULER = "euler";
    /** Seeds of the sample rows: fixed, so that every grid of a run shows the same noise. */
    private static final long SEED = 20_260_101L;
    static final String HISTORY = "samples.json";

    private final BaseModel base;
    private final PairedImages rows;
    private final String condition;
    private final Map<String, long[]> shapes;
    private final Path dir;
    private final ControlNetRun.SampleSettings settings;
    private final List<SampleGrid> history = new ArrayList<>();
    private double baseline = Double.NaN;

    /**
     * @param rows  the held-out rows to render (the first {@code settings.count()} of them)
     * @param dir   where grids, the sample bundle and the history go
     */
    TrainingSamples(BaseModel base, PairedImages rows, String condition, Map<String, long[]> shapes, Path dir, ControlNetRun.SampleSettings settings) {
        this.base = base;
        this.rows = rows.range(0, Math.min(settings.count(), rows.count()));
        this.condition = condition;
        this.shapes = shapes;
        this.dir = dir;
        this.settings = settings;
    }

    List<SampleGrid> history() {
        return List.copyOf(history);
    }

    /** Goes on from a checkpoint's sample history (a resumed run's grids stay in the curve). */
    void restore(Path checkpoint) {
        Path f = checkpoint.resolve(HISTORY);
        if (!Files.isRegularFile(f)) {
            return;
        }
        try {
            for (var n : Json.mapper().readTree(f.toFile()).path("samples")) {
                history.add(new SampleGrid(n.path("step").asLong(), n.path("edge_f1").asDouble(), n.path("baseline_edge_f1").asDouble(),
                        dir.resolve(n.path("grid").asText()), n.path("seconds").asDouble()));
            }
            if (!history.isEmpty()) {
                baseline = history.get(0).baselineEdgeF1();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the sample history " + f + ": " + e.getMessage(), e);
        }
    }

    /** Writes the history so far into a checkpoint's folder, so that it travels with the checkpoint. */
    void save(Path checkpoint) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (SampleGrid g : history) {
            out.add(Map.of("step", g.step(), "edge_f1", g.edgeF1(), "baseline_edge_f1", g.baselineEdgeF1(),
                    "grid", g.grid().getFileName().toString(), "seconds", g.seconds()));
        }
        try {
            Json.mapper().writerWithDefaultPrettyPrinter().writeValue(checkpoint.resolve(HISTORY).toFile(), Map.of("samples", out));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + checkpoint.resolve(HISTORY) + ": " + e.getMessage(), e);
        }
    }

    /** Renders the rows with the ControlNet weights of a snapshot ({@code controlnet0.*} keys), and scores and grids them. */
    SampleGrid render(long step, Path snapshot) {
        long t0 = System.nanoTime();
        Path work = dir.resolve("bundle-work");
        Path cn = dir.resolve("controlnet-step.safetensors");
        Map<String, float[]> weights = Checkpoint.readTensors(snapshot);
        ControlNetRun.writeControlNet(ControlNetRun.only(weights, ControlNetTraining.COMPONENT), shapes, base.preset().name(), condition, cn);
        // in the large-scale regime the snapshot carries the decoder too: the samples use it, as the published model will
        Map<String, float[]> decoder = ControlNetRun.only(weights, dev.cnfarm.models.arch.ModelGraphs.UNET);
        Path unet = decoder.isEmpty() ? null : ControlNetRun.writeUNet(base, decoder, dir.resolve("unet-step.safetensors"));
        ModelBundle bundle = ControlNetRun.publish(base, unet, cn, condition, work, "sample-step-" + step, "training sample at step " + step);
        int size = rows.images().size();
        List<int[]> images = new ArrayList<>();
        double f1 = 0;
        double f1Base = 0;
        try (SdRenderer r = new SdRenderer(bundle, ExecutionProviders.cpu(), SessionSettings.defaults(), 4)) {
            for (int i = 0; i < rows.count(); i++) {
                boolean[] truth = edges(rows.images().pixels(i), size);
                int[] img = renderRow(r, i, 1f, size);
                images.add(img);
                f1 += ControlFidelity.edgeF1(edges(img, size), truth, size, ControlFidelity.EDGE_TOLERANCE).f1();
                if (Double.isNaN(baseline)) {
                    f1Base += ControlFidelity.edgeF1(edges(renderRow(r, i, 0f, size), size), truth, size, ControlFidelity.EDGE_TOLERANCE).f1();
                }
            }
        }
        if (Double.isNaN(baseline)) {
            baseline = f1Base / rows.count();
        }
        f1 /= rows.count();
        Path grid = dir.resolve(String.format("samples-step-%06d.png", step));
        writeGrid(grid, step, images, size, f1);
        SampleGrid g = new SampleGrid(step, f1, baseline, grid, (System.nanoTime() - t0) / 1e9);
        history.removeIf(h -> h.step() == step); // a step sampled again after a resume replaces its grid
        history.add(g);
        return g;
    }

    private int[] renderRow(SdRenderer r, int i, float scale, int size) {
        float[] control = new float[3 * size * size];
        rows.controls().unit(i, control, 0);
        RenderRequest req = new RenderRequest(rows.images().caption(i), "", List.of(new ControlUnit(control, scale, 0f, 1f, ControlMode.BALANCED)),
                false, SEED + i, settings.steps(), size, size, GUIDANCE, SCHEDULER, 0f);
        return Images.fromChw(r.render(req, StepListener.NONE).rgb(), size, size, 0f, 1f);
    }

    /** Canny edges of an image, as the render workers' preprocessor makes them. */
    private static boolean[] edges(int[] rgb, int size) {
        return ControlFidelity.edges(Images.decode(ShapesDataset.canny(Images.png(rgb, size, size), size)).pixels());
    }

    /** One row per sample: control map | sample | the data set's image, with the step and score above. */
    private void writeGrid(Path png, long step, List<int[]> samples, int size, double f1) {
        int zoom = Math.max(1, (96 + size - 1) / size); // small images drawn at least 96 px wide, in whole pixels
        int cell = size * zoom;
        int gap = 4;
        int header = 22;
        int w = 3 * cell + 4 * gap;
        int h = header + samples.size() * (cell + gap) + gap;
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setColor(new Color(245, 245, 245));
            g.fillRect(0, 0, w, h);
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.DARK_GRAY);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            g.drawString(String.format(Locale.ROOT, "step %d  edge F1 %.2f (base alone %.2f)", step, f1, baseline), gap, 15);
            for (int i = 0; i < samples.size(); i++) {
                int y = header + i * (cell + gap);
                int[][] row = {rows.controls().pixels(i), samples.get(i), rows.images().pixels(i)};
                for (int c = 0; c < row.length; c++) {
                    BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
                    img.setRGB(0, 0, size, size, row[c], 0, size);
                    g.drawImage(img, gap + c * (cell + gap), y, cell, cell, null);
                }
            }
        } finally {
            g.dispose();
        }
        try {
            javax.imageio.ImageIO.write(out, "png", png.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png + ": " + e.getMessage(), e);
        }
    }
}
