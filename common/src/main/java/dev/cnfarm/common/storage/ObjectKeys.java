package dev.cnfarm.common.storage;

import java.util.regex.Pattern;

/**
 * The layout of the bucket. Uploads are content-addressed by sha256, so the same control image
 * uploaded twice is stored once; outputs live under their job.
 *
 * <pre>
 * uploads/{tenant}/{sha256}            control images from users
 * outputs/{tenant}/{jobId}/{index}.a{release}-{delivery}.png   rendered images, one key per attempt
 * </pre>
 *
 * <p>Each attempt at a task writes its own key, so an attempt that lost its lock and finishes late
 * cannot overwrite the image that the recorded result names (its sha256 would no longer match).
 */
public final class ObjectKeys {
    /** Tenant names and ids are restricted so that a key can never escape its prefix. */
    private static final Pattern SAFE_SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private ObjectKeys() {}

    public static String upload(String tenant, String sha256) {
        if (!Sha256.isValid(sha256)) {
            throw new IllegalArgumentException("sha256 must be 64 lowercase hex digits, got '" + sha256 + "'");
        }
        return "uploads/" + segment(tenant) + "/" + sha256;
    }

    public static String uploadPrefix(String tenant) {
        return "uploads/" + segment(tenant) + "/";
    }

    public static String output(String tenant, String jobId, int index) {
        return outputPrefix(tenant, jobId) + String.format("%06d.png", index);
    }

    /** The key one attempt writes: {@code .../000007.png} becomes {@code .../000007.a2-1.png} for release 2, delivery 1. */
    public static String attemptOutput(String outputKey, int release, int delivery) {
        String base = outputKey.endsWith(".png") ? outputKey.substring(0, outputKey.length() - 4) : outputKey;
        return base + ".a" + release + "-" + delivery + ".png";
    }

    /** The control map an image was made with, beside it: {@code .../000001.png} to {@code .../000001.control0.png}. */
    public static String controlMap(String outputKey, int controlnet) {
        return stem(outputKey) + ".control" + controlnet + ".png";
    }

    /** The JSON sidecar beside an image: {@code .../000001.png} to {@code .../000001.json}. */
    public static String sidecar(String outputKey) {
        return stem(outputKey) + ".json";
    }

    private static String stem(String key) {
        return key.endsWith(".png") ? key.substring(0, key.length() - 4) : key;
    }

    public static String outputPrefix(String tenant, String jobId) {
        return "outputs/" + segment(tenant) + "/" + segment(jobId) + "/";
    }

    /** True when the name is usable as one path segment (no slashes, no dot-dot, no odd characters). */
    public static boolean isSafeSegment(String s) {
        return s != null && SAFE_SEGMENT.matcher(s).matches() && !s.contains("..");
    }

    private static String segment(String s) {
        if (!isSafeSegment(s)) {
            throw new IllegalArgumentException("'" + s + "' is not a valid name: use letters, digits, '.', '_' and '-'");
        }
        return s;
    }
}
