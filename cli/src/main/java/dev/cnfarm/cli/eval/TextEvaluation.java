package dev.cnfarm.cli.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.cli.client.JobWatcher;
import dev.cnfarm.cli.client.OutputDownloader;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.trainer.data.Images;
import dev.cnfarm.trainer.data.ShapeClassifier;
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

/**
 * Measures whether a text-to-image model of the shapes data follows its captions, through the
 * farm: submits one job per guidance scale with a row per caption ({@link EvalCaptions}), waits,
 * downloads the images, and scores each with {@link ShapeClassifier} (background colour, shape
 * colour, shape kind). Writes {@code report.md}, {@code summary.json}, {@code results.csv} and a
 * contact sheet per guidance scale (green frame: all three read right; red: something wrong).
 */
public final class TextEvaluation {

    public record Settings(String model, int count, int steps, List<Float> guidanceScales, String scheduler, long seed, int size) {}

    /** Accuracies of one guidance scale, over all images, the held-out pairs and the pairs seen in training. */
    public record Score(float guidance, int images, int failed, double background, double shapeColour, double shapeKind,
                        double heldOutBackground, double heldOutShapeColour, double heldOutShapeKind, double seenShapeColour,
                        double seenShapeKind, double allThree, double imagesPerSecond, String jobId) {}

    /** One image: what it should show and what was read. */
    record Row(EvalCaptions.Case c, ShapeClassifier.Verdict v, Path image) {
        boolean bgRight() {
            return v != null && v.background() == c.background();
        }

        boolean colourRight() {
            return v != null && v.shapeColour() == c.colour();
        }

        boolean kindRight() {
            return v != null && v.kind() == c.kind();
        }
    }

    private TextEvaluation() {}

    public static List<Score> run(FarmClient client, Settings s, Path out, PrintStream log) throws Exception {
        Files.createDirectories(out);
        List<EvalCaptions.Case> cases = EvalCaptions.draw(s.count(), s.seed());
        List<Score> scores = new ArrayList<>();
        StringBuilder csv = new StringBuilder("guidance,index,caption,held_out,seed,background,shape_colour,shape_kind,"
                + "read_background,read_shape_colour,read_shape_kind,iou\n");
        for (float g : s.guidanceScales()) {
            String tag = String.format(Locale.ROOT, "g%s", trim(g));
            JsonNode answer = client.submit(job(s, cases, g), null, false);
            String jobId = answer.path("job_id").asText();
            log.printf("guidance %s: job %s, %d images%n", trim(g), jobId, cases.size());
            JsonNode last = new JobWatcher(client, log).watch(jobId, Duration.ofHours(2));
            Path dir = out.resolve("images-" + tag);
            new OutputDownloader(client, 4).download(jobId, dir);
            List<Row> rows = new ArrayList<>();
            for (EvalCaptions.Case c : cases) {
                Path img = dir.resolve(String.format("%06d.png", c.index()));
                ShapeClassifier.Verdict v = null;
                if (Files.isRegularFile(img)) {
                    Images.Rgb rgb = Images.decode(Files.readAllBytes(img));
                    v = ShapeClassifier.classify(rgb.pixels(), rgb.width());
                }
                rows.add(new Row(c, v, img));
                csv.append(String.format(Locale.ROOT, "%s,%d,%s,%s,%d,%s,%s,%s,%s,%s,%s,%.3f%n", trim(g), c.index(), c.caption(), c.heldOut(),
                        c.seed(), c.background().word(), c.colour().word(), c.kind().word(), v == null ? "" : v.background().word(),
                        v == null || v.shapeColour() == null ? "" : v.shapeColour().word(),
                        v == null || v.kind() == null ? "" : v.kind().word(), v == null ? 0 : v.iou()));
            }
            Score sc = score(g, rows, last.path("images_per_second").asDouble(), jobId);
            scores.add(sc);
            sheet(out.resolve("contact-sheet-" + tag + ".png"), rows, s, g, sc);
            log.printf(Locale.ROOT, "guidance %s: background %.3f, shape colour %.3f, shape kind %.3f (held-out pairs: %.3f / %.3f / %.3f)%n",
                    trim(g), sc.background(), sc.shapeColour(), sc.shapeKind(), sc.heldOutBackground(), sc.heldOutShapeColour(),
                    sc.heldOutShapeKind());
        }
        Files.writeString(out.resolve("results.csv"), csv);
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("settings", s);
        summary.put("scores", scores);
        Json.mapper().writerWithDefaultPrettyPrinter().writeValue(out.resolve("summary.json").toFile(), summary);
        Files.writeString(out.resolve("report.md"), markdown(s, scores));
        return scores;
    }

    static String job(Settings s, List<EvalCaptions.Case> cases, float guidance) {
        ObjectNode job = Json.mapper().createObjectNode();
        job.put("name", "eval text " + s.model() + " guidance " + trim(guidance));
        job.put("model", s.model());
        job.put("steps", s.steps());
        job.put("width", s.size());
        job.put("height", s.size());
        job.put("guidance_scale", guidance);
        job.put("scheduler", s.scheduler());
        ArrayNode rows = job.putArray("rows");
        for (EvalCaptions.Case c : cases) {
            rows.addObject().put("prompt", c.caption()).put("seed", c.seed());
        }
        return job.toString();
    }

    static Score score(float g, List<Row> rows, double imagesPerSecond, String jobId) {
        List<Row> held = rows.stream().filter(r -> r.c().heldOut()).toList();
        List<Row> seen = rows.stream().filter(r -> !r.c().heldOut()).toList();
        int failed = (int) rows.stream().filter(r -> r.v() == null).count();
        return new Score(g, rows.size(), failed, share(rows, Row::bgRight), share(rows, Row::colourRight), share(rows, Row::kindRight),
                share(held, Row::bgRight), share(held, Row::colourRight), share(held, Row::kindRight), share(seen, Row::colourRight),
                share(seen, Row::kindRight), share(rows, r -> r.bgRight() && r.colourRight() && r.kindRight()), imagesPerSecond, jobId);
    }

    private static double share(List<Row> rows, java.util.function.Predicate<Row> p) {
        return rows.isEmpty() ? Double.NaN : (double) rows.stream().filter(p).count() / rows.size();
    }

    private static void sheet(Path png, List<Row> rows, Settings s, float g, Score sc) throws IOException {
        List<ContactSheet.Cell> cells = new ArrayList<>();
        for (Row r : rows) {
            BufferedImage img = Files.isRegularFile(r.image()) ? javax.imageio.ImageIO.read(r.image().toFile())
                    : new BufferedImage(s.size(), s.size(), BufferedImage.TYPE_INT_RGB);
            String read = r.v() == null ? "(failed)" : (r.v().shapeColour() == null ? "-" : r.v().shapeColour().word()) + " "
                    + (r.v().kind() == null ? "-" : r.v().kind().word()) + " / " + r.v().background().word();
            boolean right = r.bgRight() && r.colourRight() && r.kindRight();
            cells.add(new ContactSheet.Cell(img, (r.c().heldOut() ? "* " : "") + r.c().colour().word() + " " + r.c().kind().word() + " / "
                    + r.c().background().word(), "read: " + read, right ? new Color(40, 160, 60) : new Color(210, 40, 40)));
        }
        String title = String.format(Locale.ROOT, "%s, %d steps %s, guidance %s: background %.0f%%, shape colour %.0f%%, kind %.0f%% "
                        + "(* = colour/shape pair held out of training; green = all three read right)", s.model(), s.steps(), s.scheduler(),
                trim(g), 100 * sc.background(), 100 * sc.shapeColour(), 100 * sc.shapeKind());
        ContactSheet.write(png, title, cells, 10, 96);
    }

    static String markdown(Settings s, List<Score> scores) {
        StringBuilder md = new StringBuilder();
        md.append("# Text-to-image evaluation: ").append(s.model()).append("\n\n");
        md.append(String.format(Locale.ROOT, "%d captions (a quarter of them colour/shape pairs held out of training), %d steps of %s, "
                + "%dx%d, seeds from %d. Each image is read by the shapes classifier: the background colour (the palette colour of most "
                + "border pixels), the shape colour (the palette colour nearest the mean inside the shape) and the shape kind (best "
                + "overlap with each kind's ideal outline).%n%n", s.count(), s.steps(), s.scheduler(), s.size(), s.size(), s.seed()));
        md.append("| guidance | background | shape colour | shape kind | all three | held-out: background | held-out: colour | held-out: kind | seen pairs: colour | seen pairs: kind | failed | images/s |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Score sc : scores) {
            md.append(String.format(Locale.ROOT, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %d | %.2f |%n",
                    trim(sc.guidance()), sc.background(), sc.shapeColour(), sc.shapeKind(), sc.allThree(), sc.heldOutBackground(),
                    sc.heldOutShapeColour(), sc.heldOutShapeKind(), sc.seenShapeColour(), sc.seenShapeKind(), sc.failed(),
                    sc.imagesPerSecond()));
        }
        md.append("\nContact sheets: ");
        for (Score sc : scores) {
            String tag = "g" + trim(sc.guidance());
            md.append("[guidance ").append(trim(sc.guidance())).append("](contact-sheet-").append(tag).append(".png) ");
        }
        md.append("\n\nPer-image results: [results.csv](results.csv).\n");
        return md.toString();
    }

    static String trim(float g) {
        return g == Math.rint(g) ? String.valueOf((int) g) + ".0" : String.valueOf(g);
    }
}
