package dev.cnfarm.common.preprocess;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The preprocessors the farm knows and the parameters each takes: shared by the coordinator
 * (which checks a job's preprocessor settings when it is submitted) and the workers (which run
 * them). The implementations live in the worker.
 */
public final class PreprocessorCatalog {
    public static final String PASSTHROUGH = "passthrough";

    private static final Map<String, List<ParamSpec>> PARAMS = new LinkedHashMap<>();

    static {
        PARAMS.put(PASSTHROUGH, List.of());
        PARAMS.put("canny", List.of(ParamSpec.integer("low", 100, 1, 255, "lower hysteresis threshold"),
                ParamSpec.integer("high", 200, 1, 255, "upper hysteresis threshold")));
        PARAMS.put("hough", List.of(
                ParamSpec.decimal("value_threshold", 0.1, 0.01, 2.0, "votes a line needs, as a fraction of the shorter side"),
                ParamSpec.decimal("distance_threshold", 0.1, 0.01, 20.0, "shortest line kept, as a fraction of the shorter side"),
                ParamSpec.integer("max_gap", 10, 0, 200, "gap in pixels bridged along a line")));
        PARAMS.put("scribble", List.of(ParamSpec.integer("threshold", 127, 1, 254, "a pixel is a stroke when its darkest channel is below this")));
        PARAMS.put("fake_scribble", List.of(ParamSpec.integer("threshold", 127, 1, 254, "soft-edge strength a line must reach"),
                ParamSpec.decimal("sigma", 3.0, 0.5, 10.0, "blur before and after suppression")));
        PARAMS.put("invert", List.of());
        PARAMS.put("openpose", List.of(ParamSpec.choice("style", "1.1", List.of("1.0", "1.1"), "drawing of ControlNet 1.0 or 1.1"),
                ParamSpec.choice("hands", "include", List.of("include", "exclude"), "draw hand keypoints"),
                ParamSpec.choice("face", "include", List.of("include", "exclude"), "draw face keypoints")));
        for (String model : List.of("soft_edge", "depth", "normal", "segmentation", "pose_estimation")) {
            PARAMS.put(model, List.of());
        }
    }

    private PreprocessorCatalog() {}

    public static List<String> names() {
        return List.copyOf(PARAMS.keySet());
    }

    public static boolean has(String name) {
        return PARAMS.containsKey(name);
    }

    public static List<ParamSpec> params(String name) {
        List<ParamSpec> p = PARAMS.get(name);
        if (p == null) {
            throw new IllegalArgumentException("unknown preprocessor '" + name + "'; known: " + PARAMS.keySet());
        }
        return p;
    }

    /** Checks a preprocessor's parameters (names, types, ranges) and fills in the defaults. */
    public static PreprocessorParams resolve(String name, Map<String, String> given) {
        return PreprocessorParams.resolve(name, params(name), given);
    }
}
