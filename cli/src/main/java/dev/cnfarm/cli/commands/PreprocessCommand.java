package dev.cnfarm.cli.commands;

import dev.cnfarm.common.preprocess.ParamSpec;
import dev.cnfarm.worker.preprocess.ControlMaps;
import dev.cnfarm.worker.preprocess.ImageLimits;
import dev.cnfarm.worker.preprocess.Preprocessor;
import dev.cnfarm.worker.preprocess.Preprocessors;
import dev.cnfarm.worker.preprocess.ResizeMode;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.opencv.core.Mat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code farm preprocess NAME IN -o OUT}: make a control map locally, the way workers make them. */
@Command(name = "preprocess", mixinStandardHelpOptions = true,
        description = "Make a control map from an image (or OpenPose JSON) with a preprocessor, as the workers do; --list shows them all.")
public final class PreprocessCommand implements Callable<Integer> {
    @Option(names = "--list", description = "list the preprocessors and their parameters")
    boolean list;

    @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "preprocessor (canny, hough, scribble, openpose, ...)")
    String name;

    @Parameters(index = "1", arity = "0..1", paramLabel = "IN", description = "input image, or keypoint JSON for openpose")
    Path in;

    @Option(names = {"-o", "--out"}, paramLabel = "OUT", description = "output PNG")
    Path out;

    @Option(names = "--param", paramLabel = "KEY=VALUE", description = "a preprocessor parameter (repeatable), e.g. --param low=50")
    Map<String, String> params = new LinkedHashMap<>();

    @Option(names = "--width", description = "output width (default: the input's, rounded to a multiple of 8)")
    Integer width;

    @Option(names = "--height", description = "output height (default: the input's, rounded to a multiple of 8)")
    Integer height;

    @Option(names = "--resize-mode", defaultValue = "crop_and_resize",
            description = "just_resize, crop_and_resize or resize_and_fill (default ${DEFAULT-VALUE})")
    String resizeMode;

    @Option(names = "--annotators", description = "folder with annotator models (depth.onnx, soft_edge.onnx, ...)")
    Path annotators;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter pw = spec.commandLine().getOut();
        if (list) {
            for (Preprocessor p : Preprocessors.all()) {
                pw.printf("%-16s %s%n", p.name(), p.description());
                for (ParamSpec s : p.params()) {
                    pw.printf("%-16s   %s%n", "", s.describe());
                }
            }
            pw.flush();
            return 0;
        }
        if (name == null || in == null || out == null) {
            throw new IllegalArgumentException("give NAME IN -o OUT (or --list)");
        }
        if (!Files.isRegularFile(in)) {
            throw new IllegalArgumentException("input " + in + " does not exist");
        }
        byte[] input = Files.readAllBytes(in);
        int[] size = size(input);
        long t0 = System.nanoTime();
        Mat map = Preprocessors.controlMap(name, input, params, size[0], size[1], ResizeMode.of(resizeMode), ImageLimits.defaults(), annotators);
        try {
            Files.write(out, ControlMaps.encodePng(map));
        } finally {
            map.release();
        }
        pw.printf("%s: %s -> %s (%dx%d) in %.1f ms%n", name, in, out, size[0], size[1], (System.nanoTime() - t0) / 1e6);
        pw.flush();
        return 0;
    }

    /** The requested size, or the input image's (or the JSON canvas's) rounded down to a multiple of 8. */
    private int[] size(byte[] input) {
        if (width != null && height != null) {
            return new int[] {width, height};
        }
        int w = 512;
        int h = 512;
        try {
            java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(input));
            if (img != null) {
                w = img.getWidth();
                h = img.getHeight();
            } else {
                com.fasterxml.jackson.databind.JsonNode j = dev.cnfarm.common.json.Json.mapper().readTree(input);
                w = j.path("canvas_width").asInt(512);
                h = j.path("canvas_height").asInt(512);
            }
        } catch (Exception e) {
            // the preprocessor reports what is wrong with the input
        }
        return new int[] {width != null ? width : Math.max(8, w / 8 * 8), height != null ? height : Math.max(8, h / 8 * 8)};
    }
}
