package dev.cnfarm.loadtests.img2img;

import dev.cnfarm.cli.eval.ContactSheet;
import dev.cnfarm.common.config.SessionSettings;
import dev.cnfarm.loadtests.report.Charts;
import dev.cnfarm.models.bundle.ModelBundle;
import dev.cnfarm.models.bundle.TrainedModels;
import dev.cnfarm.trainer.data.NamedColour;
import dev.cnfarm.trainer.data.ShapeClassifier;
import dev.cnfarm.trainer.data.ShapeKind;
import dev.cnfarm.trainer.data.ShapeScene;
import dev.cnfarm.worker.engine.ExecutionProviders;
import dev.cnfarm.worker.engine.SdRenderer;
import dev.cnfarm.worker.engine.noise.NoiseKind;
import dev.cnfarm.worker.preprocess.MaskBlur;
import dev.cnfarm.worker.render.InitImage;
import dev.cnfarm.worker.render.RenderRequest;
import dev.cnfarm.worker.render.StepListener;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * img2img and inpainting with the trained {@code shapes} model, measured: each scene of the shapes
 * world is the init image, and the prompt asks for the same shape in another colour. Across
 * strengths, how much of the init image's layout survives (the overlap of the output's shape with
 * the init's) against how often the output takes the prompt's colour; with a mask over the shape
 * (inpainting at strength 0.75 and 1), the same two numbers and the count of pixels outside the mask that
 * differ from the init image (0 by construction). A contact sheet shows them.
 */
public final class Img2ImgBenchmark {
    private static final int SIZE = 128;
    private static final int STEPS = 20;
    private static final double[] STRENGTHS = {0, 0.25, 0.5, 0.75, 1.0};

    private record Outcome(double layoutIou, boolean promptColour, double meanDiff, int keptDiffering) {}

    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        int scenes = 24;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root" -> root = Path.of(args[++i]);
                case "--scenes" -> scenes = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + "; known: --root DIR, --scenes N");
            }
        }
        Path report = root.resolve("load-tests/reports/img2img");
        Files.createDirectories(report);
        ModelBundle bundle = TrainedModels.shapes(root.resolve(".farm/bench/models"))
                .orElseThrow(() -> new IllegalStateException("this build ships no trained shapes model"));
        Map<String, List<Outcome>> byMode = new LinkedHashMap<>();
        List<ContactSheet.Cell> cells = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(7);
        long t0 = System.nanoTime();
        try (SdRenderer renderer = new SdRenderer(bundle, ExecutionProviders.cpu(), SessionSettings.defaults(), 64)) {
            for (int s = 0; s < scenes; s++) {
                ShapeKind kind = ShapeKind.values()[s % ShapeKind.values().length];
                NamedColour[] palette = NamedColour.values();
                NamedColour background = palette[rnd.nextInt(palette.length)];
                NamedColour colour;
                NamedColour target;
                do {
                    colour = palette[rnd.nextInt(palette.length)];
                    target = palette[rnd.nextInt(palette.length)];
                } while (colour == background || target == background || target == colour);
                ShapeScene scene = ShapeScene.random(kind, colour, background, SIZE, rnd);
                float[] init = chw(scene.render());
                String prompt = ShapeScene.caption(kind, target, background);
                boolean show = s < 4;
                if (show) {
                    cells.add(new ContactSheet.Cell(image(init), "init: " + colour.word() + " " + kind.word(), "ask: " + target.word(), null));
                }
                for (double strength : STRENGTHS) {
                    float[] rgb = render(renderer, prompt, s, new InitImage(init, (float) strength, null));
                    Outcome o = score(rgb, scene, target, null);
                    byMode.computeIfAbsent(String.format(Locale.ROOT, "img2img %.2f", strength), k -> new ArrayList<>()).add(o);
                    if (show) {
                        cells.add(new ContactSheet.Cell(image(rgb), String.format(Locale.ROOT, "strength %.2f", strength),
                                String.format(Locale.ROOT, "IoU %.2f %s", o.layoutIou(), o.promptColour() ? "colour ok" : ""),
                                o.promptColour() ? new Color(40, 160, 60) : null));
                    }
                }
                float[] mask = dilatedMask(scene, 4);
                float[] blurred = MaskBlur.blur(mask, SIZE, SIZE, 2);
                if (show) {
                    cells.add(new ContactSheet.Cell(image(maskImage(blurred)), "mask (blur 2)", "", null));
                }
                for (float strength : new float[] {0.75f, 1f}) {
                    float[] rgb = render(renderer, prompt, s, new InitImage(init, strength, blurred));
                    Outcome o = score(rgb, scene, target, blurred);
                    String mode = String.format(Locale.ROOT, "inpaint %.2f", strength);
                    byMode.computeIfAbsent(mode, k -> new ArrayList<>()).add(o);
                    if (show) {
                        cells.add(new ContactSheet.Cell(image(rgb), mode, String.format(Locale.ROOT, "IoU %.2f %s", o.layoutIou(),
                                o.promptColour() ? "colour ok" : ""), o.promptColour() ? new Color(40, 160, 60) : null));
                    }
                }
                System.out.printf(Locale.ROOT, "scene %d/%d done%n", s + 1, scenes);
            }
        }
        double minutes = (System.nanoTime() - t0) / 60e9;

        StringBuilder md = new StringBuilder("# img2img and inpainting with the trained shapes model\n\nRun ")
                .append(LocalDateTime.now().withNano(0)).append(" on ").append(Runtime.getRuntime().availableProcessors())
                .append(String.format(Locale.ROOT, " cores, %.1f minutes. ", minutes))
                .append(scenes).append(" scenes of the shapes world (128x128, one of each shape in turn, random colours); each is the init "
                        + "image and the prompt asks for the same shape in another colour (`a green circle on a blue background`). Euler, "
                        + STEPS + " steps, guidance 7.5, seed = the scene's number. Layout IoU: the overlap of the output's shape pixels "
                        + "(those far from the background colour) with the init's shape; prompt colour: the share of outputs whose shape "
                        + "the classifier reads as the asked colour; mean difference: per channel, 0..1, against the init image; kept "
                        + "pixels differing: pixels outside the (blurred) mask whose value differs from the init image's.\n\n")
                .append("| mode | layout IoU | prompt colour | mean difference | kept pixels differing |\n|---|---|---|---|---|\n");
        Map<Double, Double> iou = new LinkedHashMap<>();
        Map<Double, Double> colourRate = new LinkedHashMap<>();
        byMode.forEach((mode, list) -> {
            double meanIou = list.stream().mapToDouble(Outcome::layoutIou).average().orElse(0);
            double rate = list.stream().filter(Outcome::promptColour).count() / (double) list.size();
            double diff = list.stream().mapToDouble(Outcome::meanDiff).average().orElse(0);
            long kept = list.stream().mapToLong(Outcome::keptDiffering).sum();
            md.append(String.format(Locale.ROOT, "| %s | %.3f | %.2f | %.3f | %s |%n", mode, meanIou, rate, diff,
                    mode.startsWith("inpaint") ? Long.toString(kept) : "-"));
            if (mode.startsWith("img2img")) {
                double strength = Double.parseDouble(mode.substring("img2img ".length()));
                iou.put(strength, meanIou);
                colourRate.put(strength, rate);
            }
        });
        md.append("\n![layout kept against prompt followed](strength.png)\n\n![contact sheet](contact-sheet.png)\n\n"
                + "Rows of the sheet: the init image and what the prompt asks, then the outputs at each strength, then the mask and the "
                + "inpainted outputs at strength 0.75 and 1 (green frame: the asked colour was read back).\n");
        Charts.lines(report.resolve("strength.png"), "img2img on shapes: what survives, what follows the prompt", "strength", "share",
                Map.of("layout IoU with the init image", iou, "outputs in the prompt's colour", colourRate));
        ContactSheet.write(report.resolve("contact-sheet.png"), "img2img (strength 0 .. 1) and inpainting, shapes model", cells,
                STRENGTHS.length + 4, 128);
        Files.writeString(report.resolve("report.md"), md);
        System.out.println("report: " + report.resolve("report.md"));
    }

    private static float[] render(SdRenderer renderer, String prompt, long seed, InitImage init) {
        return renderer.render(new RenderRequest(prompt, "", List.of(), false, seed, STEPS, SIZE, SIZE, 7.5f, "euler", 0f, NoiseKind.FARM, init),
                StepListener.NONE).rgb();
    }

    private static Outcome score(float[] rgb, ShapeScene scene, NamedColour target, float[] mask) {
        int[] packed = packed(rgb);
        ShapeClassifier.Verdict v = ShapeClassifier.classify(packed, SIZE);
        boolean[] want = scene.mask();
        int inter = 0;
        int union = 0;
        for (int i = 0; i < packed.length; i++) {
            boolean shape = v.background() != null && distance(packed[i], v.background()) > 60;
            inter += shape && want[i] ? 1 : 0;
            union += shape || want[i] ? 1 : 0;
        }
        float[] init = chw(scene.render());
        double diff = 0;
        int kept = 0;
        for (int k = 0; k < rgb.length; k++) {
            diff += Math.abs(rgb[k] - init[k]);
            if (mask != null && mask[k % (SIZE * SIZE)] == 0f && rgb[k] != init[k]) {
                kept++;
            }
        }
        return new Outcome(union == 0 ? 0 : inter / (double) union, v.shapeColour() == target, diff / rgb.length, kept);
    }

    private static double distance(int rgb, NamedColour c) {
        int r = (rgb >> 16) & 0xff;
        int g = (rgb >> 8) & 0xff;
        int b = rgb & 0xff;
        return Math.sqrt((r - c.r()) * (r - c.r()) + (g - c.g()) * (g - c.g()) + (b - c.b()) * (b - c.b()));
    }

    /** The shape's pixels grown by {@code px} pixels: the edge's anti-aliasing is repainted too. */
    private static float[] dilatedMask(ShapeScene scene, int px) {
        float[] m = new float[SIZE * SIZE];
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                m[y * SIZE + x] = scene.distance(x, y) < px ? 1f : 0f;
            }
        }
        return m;
    }

    private static float[] chw(int[] packed) {
        float[] out = new float[3 * packed.length];
        for (int i = 0; i < packed.length; i++) {
            out[i] = ((packed[i] >> 16) & 0xff) / 255f;
            out[packed.length + i] = ((packed[i] >> 8) & 0xff) / 255f;
            out[2 * packed.length + i] = (packed[i] & 0xff) / 255f;
        }
        return out;
    }

    private static int[] packed(float[] chw) {
        int n = chw.length / 3;
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = byteOf(chw[i]) << 16 | byteOf(chw[n + i]) << 8 | byteOf(chw[2 * n + i]);
        }
        return out;
    }

    private static int byteOf(float v) {
        return Math.round(Math.max(0f, Math.min(1f, v)) * 255f);
    }

    private static float[] maskImage(float[] mask) {
        float[] out = new float[3 * mask.length];
        for (int c = 0; c < 3; c++) {
            System.arraycopy(mask, 0, out, c * mask.length, mask.length);
        }
        return out;
    }

    private static BufferedImage image(float[] chw) {
        BufferedImage img = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, SIZE, SIZE, packed(chw), 0, SIZE);
        return img;
    }
}
