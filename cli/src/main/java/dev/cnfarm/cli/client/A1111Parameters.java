package dev.cnfarm.cli.client;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cnfarm.common.json.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PNG's {@code parameters} text as A1111 writes it (and this farm, in the same form), read back
 * into a job: the prompt, {@code Negative prompt:}, then one line of {@code Key: value} settings
 * ({@code Steps}, {@code Sampler}, {@code CFG scale}, {@code Seed}, {@code Size}, {@code Model},
 * {@code ControlNet N: "..."} units, {@code RNG}). Every setting the farm does not apply is listed,
 * never dropped silently; a sampler the farm lacks is refused by name.
 *
 * @param job       the job's fields (without control images: {@link #controlNets} need theirs)
 * @param controlNets the ControlNet units, in order: the fields each applies
 * @param notApplied settings read but not applied, as {@code Key: value}
 * @param loras      the prompt's {@code <lora:name:weight>} tags, in order (taken out of the prompt, as A1111 does before encoding it)
 */
public record A1111Parameters(ObjectNode job, List<ObjectNode> controlNets, List<String> notApplied, List<LoraTag> loras) {

    /** A prompt's LoRA tag: the LoRA's name (its file's, without extension) and weight. */
    public record LoraTag(String name, double weight) {}

    /** A1111's sampler names (and this farm's own ids) to the farm's schedulers. */
    private static final Map<String, String> SAMPLERS = Map.ofEntries(Map.entry("euler a", "euler_a"), Map.entry("euler", "euler"),
            Map.entry("ddim", "ddim"), Map.entry("dpm++ 2m", "dpmpp_2m"), Map.entry("dpm++ 2m karras", "dpmpp_2m_karras"),
            Map.entry("unipc", "unipc"), Map.entry("euler_a", "euler_a"), Map.entry("dpmpp_2m", "dpmpp_2m"),
            Map.entry("dpmpp_2m_karras", "dpmpp_2m_karras"));
    private static final Pattern SETTING = Pattern.compile("\\s*([A-Za-z][\\w /+.-]*?):\\s*(\"(?:[^\"\\\\]|\\\\.)*\"|[^,]*)\\s*(?:,|$)");
    private static final Pattern LORA = Pattern.compile("<lora:([^:>]+)(?::([^>]*))?>");

    /** Reads the text; throws {@link IllegalArgumentException} naming what cannot be made into a job. */
    public static A1111Parameters parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("the PNG has no parameters text (an image from A1111 or this farm carries one in a "
                    + "'parameters' chunk)");
        }
        List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
        String settings = "";
        int last = lines.size() - 1;
        while (last >= 0 && lines.get(last).isBlank()) {
            last--;
        }
        if (last >= 0 && lines.get(last).matches("(?s).*\\bSteps: \\d+.*")) {
            settings = lines.remove(last);
        }
        StringBuilder prompt = new StringBuilder();
        StringBuilder negative = null;
        for (int i = 0; i < lines.size() && i <= last; i++) {
            String l = lines.get(i);
            if (negative == null && l.startsWith("Negative prompt:")) {
                negative = new StringBuilder(l.substring("Negative prompt:".length()).trim());
            } else if (negative != null) {
                negative.append('\n').append(l);
            } else {
                prompt.append(prompt.isEmpty() ? "" : "\n").append(l);
            }
        }
        ObjectNode job = Json.mapper().createObjectNode();
        List<String> notApplied = new ArrayList<>();
        String p = prompt.toString().trim();
        Matcher lora = LORA.matcher(p);
        List<LoraTag> loras = new ArrayList<>();
        while (lora.find()) {
            // <lora:name>, <lora:name:0.8>, or <lora:name:0.8:0.5> (an extension's text-encoder and UNet weights: the first is taken)
            String w = lora.group(2) == null ? "1" : lora.group(2).split(":")[0].trim();
            if (!w.matches("-?\\d+(\\.\\d+)?|-?\\.\\d+")) {
                throw new IllegalArgumentException("the prompt's LoRA tag " + lora.group() + " has no number for its weight");
            }
            if (lora.group(2) != null && lora.group(2).contains(":")) {
                notApplied.add("LoRA " + lora.group(1) + " weights " + lora.group(2) + " (one weight for text encoder and UNet: " + w + ")");
            }
            loras.add(new LoraTag(lora.group(1).trim(), Double.parseDouble(w)));
        }
        p = LORA.matcher(p).replaceAll("").replaceAll("[ \\t]+,", ",").replaceAll("[ \\t]+(?=\\n|$)", "").trim();
        job.putArray("prompts").add(p);
        if (negative != null && !negative.toString().isBlank()) {
            job.put("negative_prompt", negative.toString().trim());
        }

        Map<String, String> s = new LinkedHashMap<>();
        Matcher m = SETTING.matcher(settings);
        int at = 0;
        while (at < settings.length() && m.find(at) && m.start() == at) {
            s.put(m.group(1).trim(), unquote(m.group(2).trim()));
            at = m.end();
        }
        if (at < settings.length() && !settings.substring(at).isBlank()) {
            notApplied.add("unreadable settings: " + settings.substring(at).trim());
        }
        String sampler = null;
        String schedule = null;
        List<ObjectNode> units = new ArrayList<>();
        boolean a1111 = s.containsKey("Version");
        String rng = null;
        for (Map.Entry<String, String> e : s.entrySet()) {
            String k = e.getKey();
            String v = e.getValue();
            switch (k) {
                case "Steps" -> job.put("steps", integer(k, v));
                case "Sampler" -> sampler = v;
                case "Schedule type" -> schedule = v;
                case "CFG scale" -> job.put("guidance_scale", number(k, v));
                case "Seed" -> job.putArray("seeds").add(Long.parseLong(checked(k, v, "-?\\d+")));
                case "Size" -> {
                    String[] wh = checked(k, v, "\\d+x\\d+").split("x");
                    job.put("width", Integer.parseInt(wh[0]));
                    job.put("height", Integer.parseInt(wh[1]));
                }
                case "Model" -> job.put("model", v);
                case "RNG" -> rng = v;
                case "Guess mode" -> job.put("guess_mode", v.equalsIgnoreCase("true"));
                default -> {
                    if (k.matches("ControlNet \\d+")) {
                        units.add(controlNet(k, v, notApplied));
                    } else {
                        notApplied.add(k + ": " + v);
                    }
                }
            }
        }
        if (sampler != null) {
            String key = sampler.toLowerCase(Locale.ROOT) + (schedule != null && schedule.equalsIgnoreCase("karras") ? " karras" : "");
            String id = SAMPLERS.get(key);
            if (id == null) {
                throw new IllegalArgumentException("Sampler: the farm has no sampler '" + sampler + (schedule == null ? "" : "' with schedule '"
                        + schedule) + "'; it has Euler a, Euler, DDIM, DPM++ 2M, DPM++ 2M Karras and UniPC (edit the job to choose one)");
            }
            job.put("scheduler", id);
            if (schedule != null && !schedule.equalsIgnoreCase("karras") && !schedule.equalsIgnoreCase("automatic")) {
                notApplied.add("Schedule type: " + schedule);
            }
        }
        // A1111 draws its noise on the GPU unless told otherwise; this farm's own PNGs name their generator
        String noise = rng == null ? (a1111 ? "cuda_philox" : null) : switch (rng.toUpperCase(Locale.ROOT)) {
            case "CPU" -> "torch_cpu";
            case "NV", "GPU" -> "cuda_philox";
            default -> {
                notApplied.add("RNG: " + rng);
                yield null;
            }
        };
        if (noise != null) {
            job.put("noise", noise);
        }
        return new A1111Parameters(job, units, notApplied, List.copyOf(loras));
    }

    /** One {@code ControlNet N: "Module: canny, Model: ..., Weight: 1, ..."} unit as job fields. */
    private static ObjectNode controlNet(String name, String value, List<String> notApplied) {
        ObjectNode u = Json.mapper().createObjectNode();
        Matcher m = SETTING.matcher(value);
        int at = 0;
        while (at < value.length() && m.find(at) && m.start() == at) {
            String k = m.group(1).trim();
            String v = unquote(m.group(2).trim());
            switch (k) {
                case "Weight" -> u.put("scale", number(name + " Weight", v));
                case "Guidance Start" -> u.put("start", number(name + " Guidance Start", v));
                case "Guidance End" -> u.put("end", number(name + " Guidance End", v));
                case "Control Mode" -> u.put("mode", switch (v.toLowerCase(Locale.ROOT)) {
                    case "balanced" -> "balanced";
                    case "my prompt is more important", "prompt" -> "prompt";
                    case "controlnet is more important", "control" -> "control";
                    default -> throw new IllegalArgumentException(name + " Control Mode: '" + v + "' is none of Balanced, My prompt is more "
                            + "important, ControlNet is more important");
                });
                case "Module" -> {
                    String module = v.toLowerCase(Locale.ROOT);
                    if (module.equals("none")) {
                        u.put("preprocessor", "passthrough");
                    } else if (List.of("canny", "scribble", "invert", "openpose", "passthrough", "hough").contains(module)) {
                        u.put("preprocessor", module);
                    } else {
                        u.put("preprocessor", "passthrough");
                        notApplied.add(name + " Module: " + v + " (give its control map ready-made; it is used as it is)");
                    }
                }
                default -> notApplied.add(name + " " + k + ": " + v);
            }
            at = m.end();
        }
        return u;
    }

    /**
     * The job with its control images: {@code keys.get(i)} is the uploaded map of unit i.
     *
     * @throws IllegalArgumentException when a unit has no image, or an image no unit
     */
    public ObjectNode jobWith(List<String> keys, String modelOverride) {
        if (keys.size() != controlNets.size()) {
            throw new IllegalArgumentException("--control-image: the PNG has " + controlNets.size() + " ControlNet unit(s), each needs its control "
                    + "image in order (the PNG does not carry them); " + keys.size() + " given");
        }
        ObjectNode j = job.deepCopy();
        if (modelOverride != null) {
            j.put("model", modelOverride);
        }
        for (int i = 0; i < controlNets.size(); i++) {
            ObjectNode u = controlNets.get(i);
            if (i == 0) {
                j.putArray("control_images").add(keys.get(0));
                copy(u, j, "scale", "control_scale");
                copy(u, j, "start", "control_start");
                copy(u, j, "end", "control_end");
                copy(u, j, "mode", "control_mode");
                copy(u, j, "preprocessor", "preprocessor");
            } else {
                ArrayNode more = j.has("additional_controlnets") ? (ArrayNode) j.get("additional_controlnets") : j.putArray("additional_controlnets");
                more.add(u.deepCopy().put("image", keys.get(i)));
            }
        }
        return j;
    }

    private static void copy(ObjectNode from, ObjectNode to, String field, String as) {
        if (from.has(field)) {
            to.set(as, from.get(field));
        }
    }

    private static String unquote(String v) {
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
            return v.substring(1, v.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
        }
        return v;
    }

    private static String checked(String key, String v, String pattern) {
        if (!v.matches(pattern)) {
            throw new IllegalArgumentException(key + ": '" + v + "' is not what A1111 writes there");
        }
        return v;
    }

    private static int integer(String key, String v) {
        return Integer.parseInt(checked(key, v, "\\d+"));
    }

    private static double number(String key, String v) {
        return Double.parseDouble(checked(key, v, "-?\\d+(\\.\\d+)?"));
    }
}
