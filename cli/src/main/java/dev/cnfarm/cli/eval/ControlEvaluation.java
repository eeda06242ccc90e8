package dev.cnfarm.cli.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.cli.client.JobWatcher;
import dev.cnfarm.cli.client.OutputDownloader;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.trainer.data.ControlFidelity;
import dev.cnfarm.trainer.data.Images;
import dev.cnfarm.trainer.data.ShapeClassifier;
import dev.cnfarm.trainer.data.ShapeScene;
import dev.cnfarm.trainer.data.ShapesDataset;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Measures whether a ControlNet makes the farm's images follow their control maps: draws fresh
 * shapes scenes (random positions and sizes, drawn from a seed the training data never used),
 * makes each one's control map (its Canny edges, or its scribble), renders every caption with its
 * map through the farm at each control scale (0 is the baseline: the base model alone), and scores
 * each image with {@link ControlFidelity} (shape mask IoU, edge F1 at 2 pixels) and
 * {@link ShapeClassifier} (is the prompt's shape colour still obeyed?). Writes {@code report.md},
 * {@code summary.json}, {@code results.csv} and a contact sheet per model and scale.
 */
public final class ControlEvaluation {

    /**
     * @param condition canny or scribble: what the maps are
     * @param models    models to render with
     * @param controlnet which of a model's ControlNets renders the maps ("" for the first)
     */
    public record Settings(String condition, List<String> models, String controlnet, int count, int steps, float guidance, String scheduler,
                           long seed, int size, List<Float> controlScales) {}

    public record Score(String model, float controlScale, int images, int failed, double maskIou, double edgeF1, double edgePrecision,
                        double edgeRecall, double shapeColour, double background, double imagesPerSecond, String jobId) {}

    /** One case: the caption's scene and its control map file. */
    record Case(EvalCaptions.Case c, ShapeScene scene, Path map, boolean[] edges) {}

    record Row(Case c, double iou, ControlFidelity.EdgeScore edge, ShapeClassifier.Verdict v, Path image) {}

    private ControlEvaluation() {}

    public static List<Score> run(FarmClient client, Settings s, Path out, PrintStream log) throws Exception {
        Files.createDirectories(out.resolve("controls"));
        List<Case> cases = cases(s, out.resolve("controls"));
        Map<Path, String> keys = new LinkedHashMap<>();
        for (Case c : cases) {
            keys.put(c.map(), client.upload(c.map()));
        }
        List<Score> scores = new ArrayList<>();
        StringBuilder csv = new StringBuilder("model,control_scale,index,caption,seed,mask_iou,edge_precision,edge_recall,edge_f1,"
                + "read_shape_colour\n");
        boolean baselineDone = false;
        for (String model : s.models()) {
            for (float scale : s.controlScales()) {
                if (scale == 0 && baselineDone) {
                    continue; // the control-scale-0 image is the base model's, whichever ControlNet is loaded
                }
                baselineDone |= scale == 0;
                String tag = model + "-c" + trim(scale);
                JsonNode answer = client.submit(job(s, model, cases, keys, scale), null, false);
                String jobId = answer.path("job_id").asText();
                log.printf("%s, control scale %s: job %s, %d images%n", model, trim(scale), jobId, cases.size());
                JsonNode last = new JobWatcher(client, log).watch(jobId, Duration.ofHours(2));
                Path dir = out.resolve("images-" + tag);
                new OutputDownloader(client, 4).download(jobId, dir);
                List<Row> rows = new ArrayList<>();
                for (Case c : cases) {
                    Path img = dir.resolve(String.format("%06d.png", c.c().index()));
                    Row r = Files.isRegularFile(img) ? score(c, Files.readAllBytes(img), s.size(), img) : new Row(c, 0, null, null, img);
                    rows.add(r);
                    csv.append(String.format(Locale.ROOT, "%s,%s,%d,%s,%d,%.4f,%.4f,%.4f,%.4f,%s%n", model, trim(scale), c.c().index(),
                            c.c().caption(), c.c().seed(), r.iou(), r.edge() == null ? 0 : r.edge().precision(),
                            r.edge() == null ? 0 : r.edge().recall(), r.edge() == null ? 0 : r.edge().f1(),
                            r.v() == null || r.v().shapeColour() == null ? "" : r.v().shapeColour().word()));
                }
                Score sc = aggregate(model, scale, rows, last.path("images_per_second").asDouble(), jobId);
                scores.add(sc);
                sheet(out.resolve("contact-sheet-" + tag + ".png"), rows, s, sc);
                log.printf(Locale.ROOT, "%s, control scale %s: mask IoU %.3f, edge F1 %.3f (precision %.3f, recall %.3f), shape colour %.3f%n",
                        model, trim(scale), sc.maskIou(), sc.edgeF1(), sc.edgePrecision(), sc.edgeRecall(), sc.shapeColour());
            }
        }
        Files.writeString(out.resolve("results.csv"), csv);
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("settings", s);
        summary.put("scores", scores);
        Json.mapper().writerWithDefaultPrettyPrinter().writeValue(out.resolve("summary.json").toFile(), summary);
        String md = markdown(s, scores);
        if (fidelityChart(out.resolve("fidelity-vs-steps.png"), scores)) {
            md += "\n![fidelity against training steps](fidelity-vs-steps.png)\n";
        }
        Files.writeString(out.resolve("report.md"), md);
        return scores;
    }

    private static final java.util.regex.Pattern STEP = java.util.regex.Pattern.compile(".*-step-(\\d+)$");

    /**
     * For models named {@code NAME-step-N} (a run's snapshots, {@code farm train snapshot-bundles}):
     * mask IoU and edge F1 at control scale 1 against N, the control-scale-0 baseline at step 0 (a
     * ControlNet at its start adds nothing). False when fewer than two snapshots were evaluated.
     */
    static boolean fidelityChart(Path png, List<Score> scores) throws IOException {
        org.jfree.data.xy.XYSeries iou = new org.jfree.data.xy.XYSeries("mask IoU");
        org.jfree.data.xy.XYSeries f1 = new org.jfree.data.xy.XYSeries("edge F1");
        int points = 0;
        for (Score sc : scores) {
            java.util.regex.Matcher m = STEP.matcher(sc.model());
            if (sc.controlScale() == 0) {
                iou.add(0, sc.maskIou());
                f1.add(0, sc.edgeF1());
            } else if (m.matches()) {
                iou.add(Double.parseDouble(m.group(1)), sc.maskIou());
                f1.add(Double.parseDouble(m.group(1)), sc.edgeF1());
                points++;
            }
        }
        if (points < 2) {
            return false;
        }
        org.jfree.data.xy.XYSeriesCollection data = new org.jfree.data.xy.XYSeriesCollection();
        data.addSeries(iou);
        data.addSeries(f1);
        org.jfree.chart.JFreeChart chart = org.jfree.chart.ChartFactory.createXYLineChart("Control fidelity against training steps "
                + "(step 0: the base alone)", "training step", "score", data, org.jfree.chart.plot.PlotOrientation.VERTICAL, true, false,
                false);
        chart.getXYPlot().setBackgroundPaint(Color.WHITE);
        ((org.jfree.chart.renderer.xy.XYLineAndShapeRenderer) chart.getXYPlot().getRenderer()).setDefaultShapesVisible(true);
        chart.getXYPlot().getRangeAxis().setRange(0, 1);
        org.jfree.chart.ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 500);
        return true;
    }

    /** The scenes and their control maps, written to {@code dir}. */
    static List<Case> cases(Settings s, Path dir) throws IOException {
        List<Case> out = new ArrayList<>();
        for (EvalCaptions.Case c : EvalCaptions.draw(s.count(), s.seed())) {
            // a stream of positions and sizes of its own: the training data's scenes come from other seeds
            ShapeScene scene = ShapeScene.random(c.kind(), c.colour(), c.background(), s.size(),
                    new SplittableRandom(0x5CE7E5L ^ (s.seed() * 1_000_003L + c.index())));
            byte[] render = Images.png(scene.render(), s.size(), s.size());
            byte[] truthEdges = ShapesDataset.canny(render, s.size());
            byte[] map = switch (s.condition()) {
                case "canny" -> truthEdges;
                case "scribble" -> Images.png(scene.scribble(), s.size(), s.size());
                default -> throw new IllegalArgumentException("--condition must be canny or scribble, got " + s.condition());
            };
            Path p = dir.resolve(String.format("%06d.png", c.index()));
            Files.write(p, map);
            out.add(new Case(c, scene, p, ControlFidelity.edges(Images.decode(truthEdges).pixels())));
        }
        return out;
    }

    /** Scores one generated image against its scene: the mask, the shape's true edges, the colours. */
    static Row score(Case c, byte[] png, int size, Path image) {
        Images.Rgb rgb = Images.decode(png);
        double iou = ControlFidelity.maskIou(rgb.pixels(), size, c.scene().mask());
        boolean[] generated = ControlFidelity.edges(Images.decode(ShapesDataset.canny(png, size)).pixels());
        ControlFidelity.EdgeScore e = ControlFidelity.edgeF1(generated, c.edges(), size, ControlFidelity.EDGE_TOLERANCE);
        return new Row(c, iou, e, ShapeClassifier.classify(rgb.pixels(), size), image);
    }

    static String job(Settings s, String model, List<Case> cases, Map<Path, String> keys, float scale) {
        ObjectNode job = Json.mapper().createObjectNode();
        job.put("name", "eval control " + model + " scale " + trim(scale));
        job.put("model", model);
        job.put("steps", s.steps());
        job.put("width", s.size());
        job.put("height", s.size());
        job.put("guidance_scale", s.guidance());
        job.put("scheduler", s.scheduler());
        job.put("preprocessor", "passthrough");
        job.put("control_scale", scale);
        if (!s.controlnet().isEmpty()) {
            job.put("controlnet", s.controlnet());
        }
        ArrayNode rows = job.putArray("rows");
        for (Case c : cases) {
            rows.addObject().put("prompt", c.c().caption()).put("seed", c.c().seed()).put("control_image", keys.get(c.map()));
        }
        return job.toString();
    }

    static Score aggregate(String model, float scale, List<Row> rows, double imagesPerSecond, String jobId) {
        List<Row> ok = rows.stream().filter(r -> r.edge() != null).toList();
        return new Score(model, scale, rows.size(), rows.size() - ok.size(), mean(ok, Row::iou), mean(ok, r -> r.edge().f1()),
                mean(ok, r -> r.edge().precision()), mean(ok, r -> r.edge().recall()),
                mean(ok, r -> r.v().shapeColour() == r.c().c().colour() ? 1 : 0),
                mean(ok, r -> r.v().background() == r.c().c().background() ? 1 : 0), imagesPerSecond, jobId);
    }

    private static double mean(List<Row> rows, java.util.function.ToDoubleFunction<Row> f) {
        return rows.stream().mapToDouble(f).average().orElse(Double.NaN);
    }

    private static void sheet(Path png, List<Row> rows, Settings s, Score sc) throws IOException {
        List<ContactSheet.Cell> cells = new ArrayList<>();
        for (Row r : rows.subList(0, Math.min(rows.size(), 50))) {
            cells.add(new ContactSheet.Cell(javax.imageio.ImageIO.read(r.c().map().toFile()), "map " + r.c().c().index(),
                    r.c().c().colour().word() + " " + r.c().c().kind().word(), new Color(90, 90, 90)));
            BufferedImage img = Files.isRegularFile(r.image()) ? javax.imageio.ImageIO.read(r.image().toFile())
                    : new BufferedImage(s.size(), s.size(), BufferedImage.TYPE_INT_RGB);
            boolean good = r.edge() != null && r.iou() >= 0.85 && r.edge().f1() >= 0.6;
            cells.add(new ContactSheet.Cell(img, String.format(Locale.ROOT, "IoU %.2f", r.iou()),
                    String.format(Locale.ROOT, "edge F1 %.2f", r.edge() == null ? 0 : r.edge().f1()),
                    good ? new Color(40, 160, 60) : new Color(210, 40, 40)));
        }
        String title = String.format(Locale.ROOT, "%s, %s maps, control scale %s, %d steps %s, guidance %s: mask IoU %.3f, edge F1 %.3f, "
                        + "shape colour %.0f%% (pairs: map | image; green = IoU >= 0.85 and F1 >= 0.6)", sc.model(), s.condition(),
                trim(sc.controlScale()), s.steps(), s.scheduler(), trim(s.guidance()), sc.maskIou(), sc.edgeF1(), 100 * sc.shapeColour());
        ContactSheet.write(png, title, cells, 10, 96);
    }

    static String markdown(Settings s, List<Score> scores) {
        StringBuilder md = new StringBuilder();
        md.append("# Control fidelity evaluation: ").append(String.join(", ", s.models()))
                .append(s.controlnet().isEmpty() ? "" : ", ControlNet " + s.controlnet()).append("\n\n");
        md.append(String.format(Locale.ROOT, "%d fresh shapes scenes (positions and sizes drawn from a seed no training scene came from; a "
                + "quarter of the colour/shape pairs held out of the base's training), their %s maps as the control images, the caption "
                + "as the prompt; %d steps of %s, guidance %s, %dx%d. Mask IoU: the pixels away from the image's background colour "
                + "against the drawn shape. Edge F1: the image's Canny edges against the drawn shape's, matched within %d pixels. "
                + "Shape colour: the prompt's colour read back by the shapes classifier. Control scale 0 is the base model alone.%n%n",
                s.count(), s.condition(), s.steps(), s.scheduler(), trim(s.guidance()), s.size(), s.size(), ControlFidelity.EDGE_TOLERANCE));
        md.append("| model | control scale | mask IoU | edge F1 | edge precision | edge recall | shape colour | background | failed | images/s |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|\n");
        for (Score sc : scores) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %d | %.2f |%n", sc.model(),
                    trim(sc.controlScale()), sc.maskIou(), sc.edgeF1(), sc.edgePrecision(), sc.edgeRecall(), sc.shapeColour(),
                    sc.background(), sc.failed(), sc.imagesPerSecond()));
        }
        md.append("\nContact sheets: ");
        for (Score sc : scores) {
            String tag = sc.model() + "-c" + trim(sc.controlScale());
            md.append("[").append(sc.model()).append(" at ").append(trim(sc.controlScale())).append("](contact-sheet-").append(tag)
                    .append(".png) ");
        }
        md.append("\n\nPer-image results: [results.csv](results.csv).\n");
        return md.toString();
    }

    static String trim(float g) {
        return TextEvaluation.trim(g);
    }
}
