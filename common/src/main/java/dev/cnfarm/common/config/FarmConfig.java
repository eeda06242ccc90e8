package dev.cnfarm.common.config;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The farm's typed configuration, one object for every process (coordinator, worker, CLI, local
 * mode). Immutable; {@link #with} returns a copy with one setting replaced, which is how the local
 * mode points everything at the embedded broker and S3 server it has just started.
 */
public final class FarmConfig {
    private final Map<String, ConfigValue> values;

    FarmConfig(Map<String, ConfigValue> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    public FarmConfig with(ConfigKey key, String value) {
        Map<String, ConfigValue> copy = new LinkedHashMap<>(values);
        copy.put(key.name(), new ConfigValue(value, ConfigSource.FLAG));
        return new FarmConfig(copy);
    }

    public String get(ConfigKey key) {
        ConfigValue v = values.get(key.name());
        return v == null ? key.defaultValue() : v.value();
    }

    public int getInt(ConfigKey key, int min, int max) {
        return (int) getLong(key, min, max);
    }

    public long getLong(ConfigKey key, long min, long max) {
        String raw = get(key);
        long v;
        try {
            v = Long.parseLong(raw.trim());
        } catch (NumberFormatException e) {
            throw new ConfigException("setting '" + key.name() + "' (" + where(key) + ") must be a whole number, got '" + raw + "'");
        }
        if (v < min || v > max) {
            throw new ConfigException("setting '" + key.name() + "' (" + where(key) + ") must be between " + min + " and " + max + ", got " + v);
        }
        return v;
    }

    public boolean getBoolean(ConfigKey key) {
        String raw = get(key).trim().toLowerCase(java.util.Locale.ROOT);
        if (raw.equals("true") || raw.equals("false")) {
            return Boolean.parseBoolean(raw);
        }
        throw new ConfigException("setting '" + key.name() + "' (" + where(key) + ") must be true or false, got '" + raw + "'");
    }

    public ConfigSource sourceOf(ConfigKey key) {
        ConfigValue v = values.get(key.name());
        return v == null ? ConfigSource.DEFAULT : v.source();
    }

    /** Where a value was set, in words for error messages. */
    private String where(ConfigKey key) {
        return switch (sourceOf(key)) {
            case DEFAULT -> "the default";
            case FILE -> "set in the config file";
            case ENVIRONMENT -> "set in the environment as " + key.envName();
            case FLAG -> "set with --set " + key.name();
        };
    }

    public KafkaSettings kafka() {
        return new KafkaSettings(
                nonBlank(ConfigKeys.KAFKA_BOOTSTRAP),
                get(ConfigKeys.KAFKA_TOPIC_PREFIX),
                getInt(ConfigKeys.KAFKA_PARTITIONS, 1, 1000),
                (short) getInt(ConfigKeys.KAFKA_REPLICATION, 1, 7),
                nonBlank(ConfigKeys.KAFKA_SHARE_GROUP),
                getInt(ConfigKeys.KAFKA_LOCK_MS, 1000, 3_600_000),
                getInt(ConfigKeys.KAFKA_DELIVERY_LIMIT, 2, 10),
                getInt(ConfigKeys.KAFKA_TASK_PARTITIONS, 1, 1000),
                kafkaSecurity());
    }

    private KafkaSecurity kafkaSecurity() {
        String protocol = oneOf(ConfigKeys.KAFKA_SECURITY_PROTOCOL, KafkaSecurity.PROTOCOLS);
        String mechanism = oneOf(ConfigKeys.KAFKA_SASL_MECHANISM, KafkaSecurity.MECHANISMS);
        KafkaSecurity s = new KafkaSecurity(protocol, mechanism, get(ConfigKeys.KAFKA_SASL_USERNAME).trim(),
                get(ConfigKeys.KAFKA_SASL_PASSWORD), get(ConfigKeys.KAFKA_SSL_TRUSTSTORE).trim(),
                get(ConfigKeys.KAFKA_SSL_TRUSTSTORE_PASSWORD));
        if (s.usesSasl() && (s.username().isEmpty() || s.password().isEmpty())) {
            throw new ConfigException("setting 'kafka.security-protocol' is " + protocol + ", which needs 'kafka.sasl-username' and "
                    + "'kafka.sasl-password' (" + ConfigKeys.KAFKA_SASL_PASSWORD.envName() + " or "
                    + ConfigKeys.KAFKA_SASL_PASSWORD.envName() + "_FILE)");
        }
        return s;
    }

    private String oneOf(ConfigKey key, java.util.Set<String> allowed) {
        String v = get(key).trim().toUpperCase(java.util.Locale.ROOT);
        if (!allowed.contains(v)) {
            throw new ConfigException("setting '" + key.name() + "' (" + where(key) + ") must be one of "
                    + new java.util.TreeSet<>(allowed) + ", got '" + get(key) + "'");
        }
        return v;
    }

    public S3Settings s3() {
        return new S3Settings(nonBlank(ConfigKeys.S3_ENDPOINT), nonBlank(ConfigKeys.S3_REGION),
                nonBlank(ConfigKeys.S3_BUCKET), nonBlank(ConfigKeys.S3_ACCESS_KEY), nonBlank(ConfigKeys.S3_SECRET_KEY),
                getInt(ConfigKeys.S3_TIMEOUT_MS, 100, 3_600_000));
    }

    public CoordinatorSettings coordinator() {
        return new CoordinatorSettings(nonBlank(ConfigKeys.COORDINATOR_HOST),
                getInt(ConfigKeys.COORDINATOR_PORT, 0, 65535),
                getInt(ConfigKeys.COORDINATOR_MAX_TASKS, 1, 100_000_000),
                getInt(ConfigKeys.COORDINATOR_WEBHOOK_ATTEMPTS, 1, 100),
                getInt(ConfigKeys.COORDINATOR_WEBHOOK_BACKOFF_MS, 1, 3_600_000),
                authMode(),
                getInt(ConfigKeys.COORDINATOR_RATE_LIMIT, 0, 1_000_000),
                getInt(ConfigKeys.COORDINATOR_RATE_BURST, 1, 10_000_000),
                getInt(ConfigKeys.COORDINATOR_MAX_ACTIVE_JOBS, 1, 1_000_000),
                getInt(ConfigKeys.COORDINATOR_MAX_UPLOAD_BYTES, 1, Integer.MAX_VALUE));
    }

    private boolean authMode() {
        String v = get(ConfigKeys.COORDINATOR_AUTH).trim().toLowerCase(java.util.Locale.ROOT);
        if (!v.equals("tokens") && !v.equals("off")) {
            throw new ConfigException("setting 'coordinator.auth' (" + where(ConfigKeys.COORDINATOR_AUTH)
                    + ") must be tokens or off, got '" + get(ConfigKeys.COORDINATOR_AUTH) + "'");
        }
        return v.equals("tokens");
    }

    public SchedulerSettings scheduler() {
        return new SchedulerSettings(
                getInt(ConfigKeys.SCHEDULER_WINDOW_PER_WORKER, 1, 1000),
                getInt(ConfigKeys.SCHEDULER_MIN_WINDOW, 1, 100_000),
                getInt(ConfigKeys.SCHEDULER_MAX_ATTEMPTS, 1, 100),
                getInt(ConfigKeys.SCHEDULER_MAX_INFRA_RETRIES, 0, 10_000),
                getInt(ConfigKeys.SCHEDULER_RETRY_BACKOFF_MS, 0, 3_600_000),
                getInt(ConfigKeys.SCHEDULER_MAX_BACKOFF_MS, 0, 86_400_000),
                getInt(ConfigKeys.SCHEDULER_STANDBY_REPLICAS, 0, 10),
                getInt(ConfigKeys.SCHEDULER_SESSION_TIMEOUT_MS, 1000, 600_000),
                getInt(ConfigKeys.WORKER_HEARTBEAT_MS, 100, 600_000));
    }

    public WorkerSettings worker() {
        String id = get(ConfigKeys.WORKER_ID);
        if (id.isBlank()) {
            id = defaultWorkerId();
        }
        String modelDir = get(ConfigKeys.WORKER_MODEL_DIR);
        Path models = modelDir.isBlank() ? dataDir().resolve("models") : Path.of(modelDir);
        String ep = get(ConfigKeys.WORKER_EXECUTION_PROVIDER).trim().toLowerCase(java.util.Locale.ROOT);
        if (!ep.equals("cpu") && !ep.equals("cuda")) {
            throw new ConfigException("setting 'worker.execution-provider' (" + where(ConfigKeys.WORKER_EXECUTION_PROVIDER)
                    + ") must be cpu or cuda, got '" + ep + "'");
        }
        String opt = get(ConfigKeys.WORKER_GRAPH_OPTIMIZATION).trim().toLowerCase(java.util.Locale.ROOT);
        if (!java.util.Set.of("all", "extended", "basic", "none").contains(opt)) {
            throw new ConfigException("setting 'worker.graph-optimization' (" + where(ConfigKeys.WORKER_GRAPH_OPTIMIZATION)
                    + ") must be all, extended, basic or none, got '" + opt + "'");
        }
        return new WorkerSettings(id, models, getInt(ConfigKeys.WORKER_HEARTBEAT_MS, 100, 600_000),
                getInt(ConfigKeys.WORKER_PROGRESS_EVERY, 1, 1000), ep, getBoolean(ConfigKeys.WORKER_REQUIRE_CUDA),
                getInt(ConfigKeys.WORKER_CUDA_DEVICE, 0, 64), new SessionSettings(getInt(ConfigKeys.WORKER_THREADS, 0, 1024), opt,
                getBoolean(ConfigKeys.WORKER_CPU_ARENA)),
                getInt(ConfigKeys.WORKER_PREVIEW_EVERY, 0, 1000), getInt(ConfigKeys.WORKER_PROMPT_CACHE, 0, 1_000_000),
                getInt(ConfigKeys.WORKER_MAX_CONSECUTIVE_FAILURES, 1, 1_000_000), getInt(ConfigKeys.WORKER_DRAIN_TIMEOUT_MS, 0, 86_400_000),
                getInt(ConfigKeys.WORKER_POLL_MS, 1, 10_000),
                pool(), nonBlank(ConfigKeys.WORKER_METRICS_HOST), getInt(ConfigKeys.WORKER_METRICS_PORT, -1, 65_535),
                java.util.Arrays.stream(get(ConfigKeys.WORKER_MODELS).split(",")).map(String::trim).filter(x -> !x.isEmpty())
                        .map(Path::of).toList(),
                getInt(ConfigKeys.WORKER_MAX_BATCH, 1, 16), getLong(ConfigKeys.WORKER_MAX_PIXELS, 64L * 64, 1L << 40));
    }

    /** The CLI's bearer token, empty when none is set. */
    public String apiToken() {
        return get(ConfigKeys.API_TOKEN).trim();
    }

    public String apiUrl() {
        String url = nonBlank(ConfigKeys.API_URL);
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    public Path dataDir() {
        return Path.of(nonBlank(ConfigKeys.DATA_DIR));
    }

    /** The effective settings with their sources, secrets masked: what `farm config` prints. */
    public List<String> describe() {
        List<String> lines = new ArrayList<>();
        for (ConfigKey k : ConfigKeys.ALL) {
            String v = k.secret() ? "********" : get(k);
            lines.add(String.format("%-32s %-28s (%s; env %s)  %s", k.name(), v,
                    sourceOf(k).name().toLowerCase(), k.envName(), k.description()));
        }
        return lines;
    }

    @Override
    public String toString() {
        return String.join("\n", describe());
    }

    private String pool() {
        String pool = nonBlank(ConfigKeys.WORKER_POOL);
        if (!dev.cnfarm.common.kafka.Topics.POOL_NAME.matcher(pool).matches()) {
            throw new ConfigException("setting '" + ConfigKeys.WORKER_POOL.name() + "' (" + where(ConfigKeys.WORKER_POOL)
                    + ") must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit, got '" + pool + "'");
        }
        return pool;
    }

    private String nonBlank(ConfigKey key) {
        String v = get(key);
        if (v == null || v.isBlank()) {
            throw new ConfigException("setting '" + key.name() + "' must not be empty; set it in the config file, with "
                    + key.envName() + " or with --set " + key.name() + "=...");
        }
        return v.trim();
    }

    private static String defaultWorkerId() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "worker";
        }
        return host + "-" + ProcessHandle.current().pid();
    }
}
