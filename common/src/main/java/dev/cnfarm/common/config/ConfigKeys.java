package dev.cnfarm.common.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Every configuration key the farm knows. A key not listed here is refused, so typos surface at once. */
public final class ConfigKeys {
    public static final ConfigKey KAFKA_BOOTSTRAP = key("kafka.bootstrap-servers", "localhost:9092",
            "Kafka bootstrap servers, host:port[,host:port]");
    public static final ConfigKey KAFKA_TOPIC_PREFIX = key("kafka.topic-prefix", "farm.",
            "prefix of every topic name");
    public static final ConfigKey KAFKA_PARTITIONS = key("kafka.partitions", "6",
            "partitions of the topics the farm creates");
    public static final ConfigKey KAFKA_TASK_PARTITIONS = key("kafka.task-partitions", "1",
            "partitions of the tasks topic; 1 lets every worker take any task (see KafkaSettings)");
    public static final ConfigKey KAFKA_REPLICATION = key("kafka.replication-factor", "1",
            "replication factor of the topics the farm creates");
    public static final ConfigKey KAFKA_SHARE_GROUP = key("kafka.share-group", "farm-workers",
            "share group the workers take tasks from");
    public static final ConfigKey KAFKA_LOCK_MS = key("kafka.task-lock-ms", "30000",
            "how long a worker holds a task before the broker gives it to another (15000..60000 on a stock broker)");
    public static final ConfigKey KAFKA_DELIVERY_LIMIT = key("kafka.delivery-limit", "5",
            "deliveries of one task before it is given up (2..10)");
    public static final ConfigKey KAFKA_SECURITY_PROTOCOL = key("kafka.security-protocol", "PLAINTEXT",
            "how clients reach the brokers: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL");
    public static final ConfigKey KAFKA_SASL_MECHANISM = key("kafka.sasl-mechanism", "PLAIN",
            "SASL mechanism with SASL_* protocols: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
    public static final ConfigKey KAFKA_SASL_USERNAME = key("kafka.sasl-username", "",
            "SASL user name (with SASL_PLAINTEXT or SASL_SSL)");
    public static final ConfigKey KAFKA_SASL_PASSWORD = new ConfigKey("kafka.sasl-password", "",
            "SASL password; FARM_KAFKA_SASL_PASSWORD_FILE names a file holding it", true);
    public static final ConfigKey KAFKA_SSL_TRUSTSTORE = key("kafka.ssl-truststore-location", "",
            "trust store of the brokers' certificate authority (with SSL or SASL_SSL; empty: the JVM's)");
    public static final ConfigKey KAFKA_SSL_TRUSTSTORE_PASSWORD = new ConfigKey("kafka.ssl-truststore-password", "",
            "password of the trust store; FARM_KAFKA_SSL_TRUSTSTORE_PASSWORD_FILE names a file holding it", true);

    public static final ConfigKey S3_ENDPOINT = key("s3.endpoint", "http://localhost:9000",
            "S3 endpoint URL (MinIO, S3Proxy, AWS)");
    public static final ConfigKey S3_REGION = key("s3.region", "us-east-1", "S3 region");
    public static final ConfigKey S3_TIMEOUT_MS = key("s3.timeout-ms", "10000",
            "longest wait of one S3 call for the server (to connect, or for its next bytes); a store that hangs instead of "
                    + "refusing then fails the call, and a job submit waiting on it answers 503 having recorded nothing");
    public static final ConfigKey S3_BUCKET = key("s3.bucket", "farm", "bucket for uploads and outputs");
    public static final ConfigKey S3_ACCESS_KEY = key("s3.access-key", "farm-access", "S3 access key");
    public static final ConfigKey S3_SECRET_KEY = new ConfigKey("s3.secret-key", "farm-secret-key",
            "S3 secret key; FARM_S3_SECRET_KEY_FILE names a file holding it", true);

    public static final ConfigKey COORDINATOR_HOST = key("coordinator.host", "127.0.0.1",
            "address the coordinator's HTTP server binds to");
    public static final ConfigKey COORDINATOR_PORT = key("coordinator.port", "8080",
            "port of the coordinator's HTTP server (0 picks a free one)");
    public static final ConfigKey COORDINATOR_MAX_TASKS = key("coordinator.max-tasks-per-job", "100000",
            "largest job (prompts x control images x seeds) the coordinator accepts");
    public static final ConfigKey COORDINATOR_WEBHOOK_ATTEMPTS = key("coordinator.webhook-attempts", "6",
            "calls of a job's webhook before giving up (a 2xx answer ends them)");
    public static final ConfigKey COORDINATOR_WEBHOOK_BACKOFF_MS = key("coordinator.webhook-backoff-ms", "1000",
            "wait before the second webhook call; doubles for each further one");
    public static final ConfigKey COORDINATOR_AUTH = key("coordinator.auth", "tokens",
            "tokens: every API call needs a bearer token of a tenant (farm tokens create); "
                    + "off: every call acts for the tenant 'default' without one (a single-user workstation only)");
    public static final ConfigKey COORDINATOR_RATE_LIMIT = key("coordinator.rate-limit-per-second", "50",
            "API requests per second a tenant may make to one coordinator, on average (0: no limit); more get 429");
    public static final ConfigKey COORDINATOR_RATE_BURST = key("coordinator.rate-limit-burst", "200",
            "API requests a tenant may make at once before the per-second rate applies");
    public static final ConfigKey COORDINATOR_MAX_ACTIVE_JOBS = key("coordinator.max-active-jobs-per-tenant", "100",
            "unfinished jobs one tenant may have; a further submission gets 429 until one ends");
    public static final ConfigKey COORDINATOR_MAX_UPLOAD_BYTES = key("coordinator.max-upload-bytes", "52428800",
            "largest control image or pose file a tenant may upload");

    public static final ConfigKey SCHEDULER_WINDOW_PER_WORKER = key("scheduler.window-per-worker", "2",
            "tasks released ahead per live worker: the queue stays this short, so urgent jobs start at once");
    public static final ConfigKey SCHEDULER_MIN_WINDOW = key("scheduler.min-window", "4",
            "tasks released ahead when few or no workers have reported yet");
    public static final ConfigKey SCHEDULER_MAX_ATTEMPTS = key("scheduler.max-attempts", "3",
            "attempts a task gets when they fail on its content (bad control image, model refuses it)");
    public static final ConfigKey SCHEDULER_MAX_INFRA_RETRIES = key("scheduler.max-infra-retries", "30",
            "retries after infrastructure failures (storage down, out of memory), which do not spend max-attempts");
    public static final ConfigKey SCHEDULER_RETRY_BACKOFF_MS = key("scheduler.retry-backoff-ms", "1000",
            "wait before the first retry; doubles with each infrastructure failure");
    public static final ConfigKey SCHEDULER_MAX_BACKOFF_MS = key("scheduler.max-backoff-ms", "30000",
            "longest wait between retries");
    public static final ConfigKey SCHEDULER_STANDBY_REPLICAS = key("scheduler.standby-replicas", "0",
            "warm copies of the scheduler's state kept by other coordinators, for a fast takeover");
    public static final ConfigKey SCHEDULER_SESSION_TIMEOUT_MS = key("scheduler.session-timeout-ms", "10000",
            "how soon another coordinator takes over the scheduler from one that vanished");

    public static final ConfigKey WORKER_ID = key("worker.id", "",
            "worker id in events and heartbeats (empty: host-pid)");
    public static final ConfigKey WORKER_MODEL_DIR = key("worker.model-dir", "",
            "where the worker keeps model bundles (empty: <data-dir>/models)");
    public static final ConfigKey WORKER_HEARTBEAT_MS = key("worker.heartbeat-ms", "2000",
            "interval between worker heartbeats");
    public static final ConfigKey WORKER_PROGRESS_EVERY = key("worker.progress-every-steps", "1",
            "emit a progress event every N denoising steps");

    public static final ConfigKey WORKER_EXECUTION_PROVIDER = key("worker.execution-provider", "cpu",
            "where models run: cpu, or cuda (needs the GPU build; falls back to cpu with a warning)");
    public static final ConfigKey WORKER_REQUIRE_CUDA = key("worker.require-cuda", "false",
            "refuse to start instead of falling back to cpu when cuda cannot be used");
    public static final ConfigKey WORKER_CUDA_DEVICE = key("worker.cuda-device", "0", "GPU index for cuda");
    public static final ConfigKey WORKER_THREADS = key("worker.intra-op-threads", "0",
            "threads per model run (0: ONNX Runtime's default, one per core)");
    public static final ConfigKey WORKER_GRAPH_OPTIMIZATION = key("worker.graph-optimization", "all",
            "ONNX Runtime graph optimisation level: all, extended, basic or none");
    public static final ConfigKey WORKER_CPU_ARENA = key("worker.cpu-memory-arena", "true",
            "let ONNX Runtime keep freed CPU memory for the next run (faster, holds more memory)");
    public static final ConfigKey WORKER_PREVIEW_EVERY = key("worker.preview-every-steps", "5",
            "attach a small preview image to every Nth progress event (0: never)");
    public static final ConfigKey WORKER_PROMPT_CACHE = key("worker.prompt-cache-size", "256",
            "prompt embeddings kept per model, for jobs that repeat prompts");
    public static final ConfigKey WORKER_MAX_BATCH = key("worker.max-batch", "1",
            "the most tasks a worker takes at once and computes together, one model run per step for all (1 to 16); "
                    + "only tasks that agree on model, size, steps, scheduler, guidance on or off and ControlNet windows share a batch, "
                    + "and a job's batch_size caps its own; worth it on GPUs, little gain on CPUs");
    public static final ConfigKey WORKER_MAX_PIXELS = key("worker.max-pixels", "1048576",
            "the largest image (width x height) this worker renders; larger tasks are left to workers that can, and a job "
                    + "no live worker of its pool can render is refused at submit. The default, 1024x1024, is what a 24 GB CPU "
                    + "machine renders with the shipped models (at 2048x2048 their attention needs more memory than that, and the "
                    + "kernel stops the whole process); raise it on GPUs and large machines");
    public static final ConfigKey WORKER_MAX_CONSECUTIVE_FAILURES = key("worker.max-consecutive-failures", "5",
            "a worker whose own faults (internal error, out of memory) fail this many tasks in a row stops taking work");
    public static final ConfigKey WORKER_POLL_MS = key("worker.poll-ms", "50",
            "longest wait of one poll for a task; after an acknowledgement the share consumer's first poll often "
                    + "returns nothing, so a long wait here is added to every task (500 ms cost 0.4 s a task)");
    public static final ConfigKey WORKER_DRAIN_TIMEOUT_MS = key("worker.drain-timeout-ms", "120000",
            "on shutdown, how long the task in hand may run on before it is given back to the queue");

    public static final ConfigKey WORKER_POOL = key("worker.pool", "default",
            "the pool this worker takes tasks from: jobs name a pool (field 'pool') when only some workers can run them, "
                    + "e.g. the workers with a model or enough GPU memory; each pool has its own tasks topic");
    public static final ConfigKey WORKER_METRICS_HOST = key("worker.metrics-host", "127.0.0.1",
            "address of the worker's metrics and health endpoints (/metrics, /health, /health/ready); loopback unless told "
                    + "otherwise: deployments set 0.0.0.0 so Prometheus and the orchestrator's probes reach them");
    public static final ConfigKey WORKER_METRICS_PORT = key("worker.metrics-port", "0",
            "port of the worker's metrics and health endpoints; 0 picks a free one (several workers on one host), "
                    + "-1 turns them off; deployments set a fixed port (9400) for Prometheus to scrape");

    public static final ConfigKey WORKER_MODELS = key("worker.models", "",
            "more model folders to serve, comma-separated: the farm's bundles or diffusers ONNX exports (model_index.json); "
                    + "each is served under its folder name (a bundle under its manifest id)");

    public static final ConfigKey API_URL = key("api.url", "http://127.0.0.1:8080",
            "the coordinator URL the CLI talks to");
    public static final ConfigKey API_TOKEN = new ConfigKey("api.token", "",
            "the bearer token the CLI sends (from `farm tokens create`); FARM_API_TOKEN_FILE names a file holding it", true);
    public static final ConfigKey DATA_DIR = key("data-dir", ".farm",
            "local folder for the embedded broker, S3 data and model cache");

    public static final List<ConfigKey> ALL = List.of(
            KAFKA_BOOTSTRAP, KAFKA_TOPIC_PREFIX, KAFKA_PARTITIONS, KAFKA_TASK_PARTITIONS, KAFKA_REPLICATION, KAFKA_SHARE_GROUP,
            KAFKA_LOCK_MS, KAFKA_DELIVERY_LIMIT, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME,
            KAFKA_SASL_PASSWORD, KAFKA_SSL_TRUSTSTORE, KAFKA_SSL_TRUSTSTORE_PASSWORD,
            S3_ENDPOINT, S3_REGION, S3_TIMEOUT_MS, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY,
            COORDINATOR_HOST, COORDINATOR_PORT, COORDINATOR_MAX_TASKS, COORDINATOR_WEBHOOK_ATTEMPTS, COORDINATOR_WEBHOOK_BACKOFF_MS,
            COORDINATOR_AUTH, COORDINATOR_RATE_LIMIT, COORDINATOR_RATE_BURST, COORDINATOR_MAX_ACTIVE_JOBS, COORDINATOR_MAX_UPLOAD_BYTES,
            SCHEDULER_WINDOW_PER_WORKER, SCHEDULER_MIN_WINDOW, SCHEDULER_MAX_ATTEMPTS, SCHEDULER_MAX_INFRA_RETRIES,
            SCHEDULER_RETRY_BACKOFF_MS, SCHEDULER_MAX_BACKOFF_MS, SCHEDULER_STANDBY_REPLICAS, SCHEDULER_SESSION_TIMEOUT_MS,
            WORKER_ID, WORKER_MODEL_DIR, WORKER_HEARTBEAT_MS, WORKER_PROGRESS_EVERY,
            WORKER_EXECUTION_PROVIDER, WORKER_REQUIRE_CUDA, WORKER_CUDA_DEVICE, WORKER_THREADS, WORKER_GRAPH_OPTIMIZATION,
            WORKER_CPU_ARENA, WORKER_PREVIEW_EVERY,
            WORKER_PROMPT_CACHE, WORKER_MAX_BATCH, WORKER_MAX_PIXELS, WORKER_MAX_CONSECUTIVE_FAILURES, WORKER_DRAIN_TIMEOUT_MS, WORKER_POLL_MS,
            WORKER_POOL, WORKER_METRICS_HOST, WORKER_METRICS_PORT, WORKER_MODELS,
            API_URL, API_TOKEN, DATA_DIR);

    private static final Map<String, ConfigKey> BY_NAME = new LinkedHashMap<>();

    static {
        for (ConfigKey k : ALL) {
            BY_NAME.put(k.name(), k);
        }
    }

    private ConfigKeys() {}

    public static Optional<ConfigKey> byName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    private static ConfigKey key(String name, String def, String description) {
        return new ConfigKey(name, def, description, false);
    }
}
