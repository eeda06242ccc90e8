package dev.cnfarm.common.config;

/**
 * S3 connection settings. {@link #toString()} masks the secret so it never reaches a log.
 *
 * @param timeoutMs how long one call may wait on the server (to connect, or for the next bytes):
 *                  a store that hangs instead of refusing must not hang the farm's requests with it
 */
public record S3Settings(String endpoint, String region, String bucket, String accessKey, String secretKey, int timeoutMs) {
    public static final int DEFAULT_TIMEOUT_MS = 10_000;

    public S3Settings(String endpoint, String region, String bucket, String accessKey, String secretKey) {
        this(endpoint, region, bucket, accessKey, secretKey, DEFAULT_TIMEOUT_MS);
    }

    @Override
    public String toString() {
        return "S3Settings[endpoint=" + endpoint + ", region=" + region + ", bucket=" + bucket
                + ", accessKey=" + accessKey + ", secretKey=********, timeoutMs=" + timeoutMs + "]";
    }
}
