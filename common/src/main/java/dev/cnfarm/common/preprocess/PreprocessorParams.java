package dev.cnfarm.common.preprocess;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A preprocessor's parameters, checked against its specs: unknown names, values of the wrong
 * type and values out of range are refused with the parameter's name and the allowed range.
 * Missing ones take their defaults. {@link #canonical()} is the form cache keys are made of.
 */
public final class PreprocessorParams {
    private final Map<String, String> values;

    private PreprocessorParams(Map<String, String> values) {
        this.values = values;
    }

    public static PreprocessorParams resolve(String preprocessor, List<ParamSpec> specs, Map<String, String> given) {
        Map<String, String> out = new TreeMap<>();
        Map<String, ParamSpec> byName = new LinkedHashMap<>();
        for (ParamSpec s : specs) {
            byName.put(s.name(), s);
            out.put(s.name(), s.defaultValue());
        }
        for (Map.Entry<String, String> e : given.entrySet()) {
            ParamSpec s = byName.get(e.getKey());
            if (s == null) {
                throw new IllegalArgumentException("preprocessor '" + preprocessor + "' has no parameter '" + e.getKey() + "'"
                        + (byName.isEmpty() ? " (it takes none)" : "; it takes " + byName.keySet()));
            }
            out.put(s.name(), check(preprocessor, s, e.getValue()));
        }
        return new PreprocessorParams(out);
    }

    private static String check(String preprocessor, ParamSpec s, String raw) {
        String v = raw == null ? "" : raw.trim();
        String where = "parameter '" + s.name() + "' of preprocessor '" + preprocessor + "'";
        switch (s.kind()) {
            case INT -> {
                long n;
                try {
                    n = Long.parseLong(v);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(where + " must be a whole number from " + (long) s.min() + " to " + (long) s.max() + ", got '" + v + "'");
                }
                if (n < s.min() || n > s.max()) {
                    throw new IllegalArgumentException(where + " must be from " + (long) s.min() + " to " + (long) s.max() + ", got " + n);
                }
                return Long.toString(n);
            }
            case FLOAT -> {
                double d;
                try {
                    d = Double.parseDouble(v);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(where + " must be a number from " + s.min() + " to " + s.max() + ", got '" + v + "'");
                }
                if (!(d >= s.min() && d <= s.max())) {
                    throw new IllegalArgumentException(where + " must be from " + s.min() + " to " + s.max() + ", got " + d);
                }
                return Double.toString(d);
            }
            case CHOICE -> {
                if (!s.choices().contains(v)) {
                    throw new IllegalArgumentException(where + " must be one of " + s.choices() + ", got '" + v + "'");
                }
                return v;
            }
            default -> throw new IllegalStateException();
        }
    }

    public int getInt(String name) {
        return (int) Long.parseLong(values.get(name));
    }

    public double getDouble(String name) {
        return Double.parseDouble(values.get(name));
    }

    public String get(String name) {
        return values.get(name);
    }

    /** name=value pairs, sorted: equal parameters give equal strings. */
    public String canonical() {
        StringBuilder s = new StringBuilder();
        values.forEach((k, v) -> s.append(s.length() == 0 ? "" : ",").append(k).append('=').append(v));
        return s.toString();
    }
}
