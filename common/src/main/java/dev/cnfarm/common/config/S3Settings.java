package dev.cnfarm.common.config;

/** S3 connection settings. {@link #toString()} masks the secret so it never reaches a log. */
public record S3Settings(String endpoint, String region, String bucket, String accessKey, String secretKey) {
    @Override
    public String toString() {
        return "S3Settings[endpoint=" + endpoint + ", region=" + region + ", bucket=" + bucket
                + ", accessKey=" + accessKey + ", secretKey=********]";
    }
}
