package dev.cnfarm.common.preprocess;

import java.util.List;

/**
 * One parameter of a preprocessor: its type, default and allowed values.
 *
 * @param choices for {@link Kind#CHOICE}: the allowed values
 */
public record ParamSpec(String name, Kind kind, String defaultValue, double min, double max, List<String> choices, String description) {

    public enum Kind { INT, FLOAT, CHOICE }

    public static ParamSpec integer(String name, int def, int min, int max, String description) {
        return new ParamSpec(name, Kind.INT, String.valueOf(def), min, max, List.of(), description);
    }

    public static ParamSpec decimal(String name, double def, double min, double max, String description) {
        return new ParamSpec(name, Kind.FLOAT, String.valueOf(def), min, max, List.of(), description);
    }

    public static ParamSpec choice(String name, String def, List<String> choices, String description) {
        return new ParamSpec(name, Kind.CHOICE, def, 0, 0, List.copyOf(choices), description);
    }

    /** A line for `farm preprocess --list`. */
    public String describe() {
        String range = switch (kind) {
            case INT -> (long) min + ".." + (long) max;
            case FLOAT -> min + ".." + max;
            case CHOICE -> String.join("|", choices);
        };
        return name + "=" + defaultValue + " (" + range + "): " + description;
    }
}
