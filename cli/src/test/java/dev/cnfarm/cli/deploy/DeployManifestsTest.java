package dev.cnfarm.cli.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.cnfarm.common.config.ConfigKey;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.worker.metrics.GpuMemory;
import dev.cnfarm.worker.metrics.WorkerMetrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The files under {@code deploy/} refer to each other and to the code: configuration keys and their
 * environment variables, image names, ports, health and metrics paths, label selectors, metric names.
 * Nothing there can be started on the build machines (no Docker, no cluster), so this test reads
 * every YAML, JSON and Dockerfile and checks each kind of reference on its own, with a message that
 * names the file and the reference. The checkers are plain functions returning the problems found;
 * the last tests feed them made-up mistakes to show that they catch them.
 */
class DeployManifestsTest {

    /**
     * Every metric the farm exports, by its Prometheus name. Histograms are listed by their base
     * name ({@code _bucket}, {@code _count}, {@code _sum}, {@code _max} are accepted after it).
     */
    /** Metric names the coordinator exports (registered in CoordinatorMetrics, which needs a running farm to build). */
    static final Set<String> COORDINATOR_METRICS = Set.of(
            // coordinator/src/main/java/dev/cnfarm/coordinator/metrics/CoordinatorMetrics.java
            "farm_tasks",                      // gauge {state}
            "farm_jobs",                       // gauge {state}
            "farm_workers",                    // gauge {health}
            "farm_websocket_sessions",         // gauge
            "farm_task_outcomes_total",        // counter {outcome, cause}
            "farm_dispatch_latency_seconds",   // timer, histogram
            "farm_task_render_seconds");       // timer, histogram

    /** The coordinator's names and the worker's, the latter scraped from a real {@link WorkerMetrics}. */
    static final Set<String> EXPORTED_METRICS = exportedMetrics();

    private static Set<String> exportedMetrics() {
        Set<String> names = new TreeSet<>(COORDINATOR_METRICS);
        try (WorkerMetrics w = new WorkerMetrics("w", () -> true, () -> 1.0, GpuMemory.forProvider("cpu", 0))) {
            // counters and per-outcome timers appear once used
            w.taskEnded("succeeded", "none", java.time.Duration.ofMillis(5));
            w.stepDone(java.time.Duration.ofMillis(5));
            Matcher m = Pattern.compile("(?m)^# TYPE (farm_[a-z_]+) ").matcher(w.scrape());
            while (m.find()) {
                names.add(m.group(1));
            }
        }
        return Set.copyOf(names);
    }

    private static final List<String> METRIC_SUFFIXES = List.of("_bucket", "_count", "_sum", "_max");

    /** Health endpoints both processes serve (coordinator: ApiRoutes; worker: its metrics server). */
    static final Set<String> HEALTH_PATHS = Set.of("/health", "/health/ready");
    static final String METRICS_PATH = "/metrics";
    static final String IMAGE_PREFIX = "cnfarm/";

    private static final Pattern FARM_METRIC = Pattern.compile("farm_[a-z_]+");
    private static final Pattern URL_PORT_PATH = Pattern.compile("https?://[^/:\\s\"']+:(\\d+)(/[^\\s\"'|]*)?");

    private static final YAMLMapper YAML = new YAMLMapper();
    private static final ObjectMapper JSON = new ObjectMapper();

    static Path root;
    static Path deploy;
    /** Every YAML document under deploy/, by file. */
    static Map<Path, List<JsonNode>> yamlDocs;
    static Map<Path, JsonNode> jsonDocs;
    static List<String> parseProblems;
    static Map<String, Dockerfile> dockerfiles;   // image name (cnfarm/x) -> its Dockerfile
    static JsonNode compose;
    static List<JsonNode> k8s;
    static List<Workload> workloads;

    // ------------------------------------------------------------------------------------------
    // loading

    @BeforeAll
    static void load() throws IOException {
        root = findRoot();
        deploy = root.resolve("deploy");
        yamlDocs = new LinkedHashMap<>();
        jsonDocs = new LinkedHashMap<>();
        parseProblems = new ArrayList<>();
        for (Path f : filesUnder(deploy)) {
            String name = f.getFileName().toString();
            try {
                if (name.endsWith(".yaml") || name.endsWith(".yml")) {
                    yamlDocs.put(f, readYamlDocuments(f));
                } else if (name.endsWith(".json")) {
                    jsonDocs.put(f, JSON.readTree(f.toFile()));
                }
            } catch (IOException e) {
                parseProblems.add(rel(f) + ": " + e.getMessage());
            }
        }
        dockerfiles = new LinkedHashMap<>();
        Path images = deploy.resolve("images");
        if (Files.isDirectory(images)) {
            try (Stream<Path> dirs = Files.list(images)) {
                for (Path dir : dirs.sorted().toList()) {
                    Path df = dir.resolve("Dockerfile");
                    if (Files.isRegularFile(df)) {
                        dockerfiles.put(IMAGE_PREFIX + dir.getFileName(), Dockerfile.parse(df));
                    }
                }
            }
        }
        List<JsonNode> composeDocs = yamlDocs.getOrDefault(deploy.resolve("compose/compose.yaml"), List.of());
        compose = composeDocs.isEmpty() ? null : composeDocs.get(0);
        k8s = yamlDocs.entrySet().stream().filter(e -> e.getKey().startsWith(deploy.resolve("kubernetes")))
                .flatMap(e -> e.getValue().stream()).toList();
        workloads = new ArrayList<>();
        workloads.addAll(composeWorkloads());
        workloads.addAll(kubernetesWorkloads());
    }

    static Path findRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("deploy"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("no deploy/ folder above " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    static List<Path> filesUnder(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    static List<JsonNode> readYamlDocuments(Path f) throws IOException {
        try (JsonParser p = YAML.getFactory().createParser(f.toFile())) {
            return YAML.readValues(p, JsonNode.class).readAll().stream()
                    .filter(n -> n != null && !n.isNull() && !n.isMissingNode()).toList();
        }
    }

    static String rel(Path f) {
        return root.relativize(f).toString();
    }

    /** A Dockerfile's instructions, continuation lines joined. */
    record Dockerfile(Path file, String label, Map<String, String> env, List<Integer> exposed, String healthcheck) {
        static Dockerfile parse(Path file) throws IOException {
            List<String> instructions = new ArrayList<>();
            StringBuilder cur = new StringBuilder();
            for (String line : Files.readAllLines(file)) {
                String t = line.strip();
                if (cur.isEmpty() && (t.isEmpty() || t.startsWith("#"))) {
                    continue;
                }
                if (t.startsWith("#")) {
                    continue;   // comment inside a continued instruction
                }
                if (t.endsWith("\\")) {
                    cur.append(t, 0, t.length() - 1).append(' ');
                } else {
                    cur.append(t);
                    instructions.add(cur.toString());
                    cur.setLength(0);
                }
            }
            // only the last stage is the image
            int lastFrom = 0;
            for (int i = 0; i < instructions.size(); i++) {
                if (instructions.get(i).toUpperCase().startsWith("FROM ")) {
                    lastFrom = i;
                }
            }
            Map<String, String> env = new LinkedHashMap<>();
            List<Integer> exposed = new ArrayList<>();
            String label = null;
            String health = null;
            Pattern kv = Pattern.compile("([A-Za-z_][A-Za-z0-9_.\\-]*)=(\"[^\"]*\"|\\S*)");
            for (String ins : instructions.subList(lastFrom, instructions.size())) {
                String word = ins.split("\\s+", 2)[0].toUpperCase();
                String rest = ins.length() > word.length() ? ins.substring(word.length()).strip() : "";
                switch (word) {
                    case "ENV" -> {
                        Matcher m = kv.matcher(rest);
                        while (m.find()) {
                            env.put(m.group(1), unquote(m.group(2)));
                        }
                    }
                    case "EXPOSE" -> {
                        for (String p : rest.split("\\s+")) {
                            exposed.add(Integer.parseInt(p.replaceAll("/.*", "")));
                        }
                    }
                    case "LABEL" -> {
                        Matcher m = kv.matcher(rest);
                        while (m.find()) {
                            if (m.group(1).equals("org.opencontainers.image.title")) {
                                label = unquote(m.group(2));
                            }
                        }
                    }
                    case "HEALTHCHECK" -> health = rest;
                    default -> { }
                }
            }
            return new Dockerfile(file, label, env, exposed, health);
        }

        private static String unquote(String s) {
            return s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"") ? s.substring(1, s.length() - 1) : s;
        }
    }

    /**
     * One farm process as deployed: a compose service or a Kubernetes container.
     *
     * @param env        its environment as the process sees it: the image's ENV, then the workload's own
     * @param fileValues the config file it reads (FARM_CONFIG), flattened; empty when none
     * @param node       the compose service or Kubernetes container
     * @param pod        the Kubernetes pod spec, or null for compose
     */
    record Workload(String where, String kind, String name, String image, String role, Map<String, String> env,
                    Map<String, String> fileValues, JsonNode node, JsonNode pod, List<String> problems) {

        String effective(ConfigKey key) {
            String v = env.get(key.envName());
            if (v == null) {
                v = fileValues.get(key.name());
            }
            return v == null ? key.defaultValue() : v;
        }

        /** The port a role listens on: coordinator.port or worker.metrics-port. */
        int port() {
            return Integer.parseInt(effective(role.equals("coordinator") ? ConfigKeys.COORDINATOR_PORT : ConfigKeys.WORKER_METRICS_PORT));
        }

        boolean gpu() {
            return repository(image).equals(IMAGE_PREFIX + "worker");
        }
    }

    /** coordinator or worker from the image name (cnfarm/coordinator, cnfarm/worker, cnfarm/worker-cpu). */
    static String roleOf(String image) {
        String repo = repository(image);
        if (repo.equals(IMAGE_PREFIX + "coordinator")) {
            return "coordinator";
        }
        if (repo.startsWith(IMAGE_PREFIX + "worker")) {
            return "worker";
        }
        return null;
    }

    static String repository(String image) {
        int slash = image.lastIndexOf('/');
        int colon = image.lastIndexOf(':');
        return colon > slash ? image.substring(0, colon) : image;
    }

    static String tag(String image) {
        int slash = image.lastIndexOf('/');
        int colon = image.lastIndexOf(':');
        return colon > slash ? image.substring(colon + 1) : "latest";
    }

    static Map<String, String> imageEnv(String image) {
        Dockerfile df = dockerfiles.get(repository(image));
        return df == null ? Map.of() : df.env();
    }

    static List<Workload> composeWorkloads() {
        List<Workload> out = new ArrayList<>();
        if (compose == null) {
            return out;
        }
        for (Map.Entry<String, JsonNode> s : fields(compose.path("services"))) {
            String image = s.getValue().path("image").asText("");
            String role = roleOf(image);
            if (role == null) {
                continue;
            }
            Map<String, String> env = new LinkedHashMap<>(imageEnv(image));
            env.putAll(composeEnvironment(s.getValue()));
            out.add(new Workload("compose service " + s.getKey(), "compose", s.getKey(), image, role, env, Map.of(),
                    s.getValue(), null, List.of()));
        }
        return out;
    }

    static Map<String, String> composeEnvironment(JsonNode service) {
        Map<String, String> env = new LinkedHashMap<>();
        JsonNode e = service.path("environment");
        if (e.isObject()) {
            fields(e).forEach(f -> env.put(f.getKey(), f.getValue().isNull() ? "" : f.getValue().asText()));
        } else if (e.isArray()) {
            for (JsonNode item : e) {
                String[] kv = item.asText().split("=", 2);
                env.put(kv[0], kv.length > 1 ? kv[1] : "");
            }
        }
        return env;
    }

    static List<JsonNode> k8sOfKind(String kind) {
        return k8s.stream().filter(d -> kind.equals(d.path("kind").asText())).toList();
    }

    static List<Workload> kubernetesWorkloads() {
        List<Workload> out = new ArrayList<>();
        for (JsonNode d : k8sOfKind("Deployment")) {
            JsonNode pod = d.path("spec").path("template").path("spec");
            for (JsonNode c : pod.path("containers")) {
                String image = c.path("image").asText("");
                String role = roleOf(image);
                if (role == null) {
                    continue;
                }
                String where = "Deployment " + d.path("metadata").path("name").asText() + " container " + c.path("name").asText();
                Map<String, String> env = new LinkedHashMap<>(imageEnv(image));
                for (JsonNode e : c.path("env")) {
                    // values from Secrets or the downward API are known only at run time
                    env.put(e.path("name").asText(), e.has("value") ? e.path("value").asText() : "<" + e.path("valueFrom").fieldNames().next() + ">");
                }
                List<String> problems = new ArrayList<>();
                Map<String, String> fileValues = Map.of();
                String configPath = env.get("FARM_CONFIG");
                if (configPath != null) {
                    Optional<String> text = mountedFile(pod, c, configPath);
                    if (text.isEmpty()) {
                        problems.add(where + ": FARM_CONFIG=" + configPath + " is not a file of a ConfigMap mounted in the pod");
                    } else {
                        fileValues = flattenConfig(text.get());
                    }
                }
                out.add(new Workload(where, "kubernetes", d.path("metadata").path("name").asText(), image, role, env, fileValues,
                        c, pod, problems));
            }
        }
        return out;
    }

    /** The text of a file that a container sees at {@code path} through a ConfigMap volume. */
    static Optional<String> mountedFile(JsonNode pod, JsonNode container, String path) {
        for (JsonNode m : container.path("volumeMounts")) {
            String mountPath = m.path("mountPath").asText();
            if (!path.startsWith(mountPath + "/")) {
                continue;
            }
            String file = path.substring(mountPath.length() + 1);
            for (JsonNode v : pod.path("volumes")) {
                if (v.path("name").asText().equals(m.path("name").asText()) && v.has("configMap")) {
                    String cm = v.path("configMap").path("name").asText();
                    for (JsonNode d : k8sOfKind("ConfigMap")) {
                        if (d.path("metadata").path("name").asText().equals(cm) && d.path("data").has(file)) {
                            return Optional.of(d.path("data").path(file).asText());
                        }
                    }
                }
            }
        }
        return Optional.empty();
    }

    /** A farm config file's keys as dotted names, flattened the way ConfigLoader reads them. */
    static Map<String, String> flattenConfig(String yamlText) {
        Map<String, String> out = new LinkedHashMap<>();
        try {
            JsonNode n = YAML.readTree(yamlText);
            if (n != null && n.isObject()) {
                flatten("", n, out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
        for (Map.Entry<String, JsonNode> e : fields(node)) {
            String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            if (e.getValue().isObject() && ConfigKeys.byName(key).isEmpty()) {
                flatten(key, e.getValue(), out);
            } else {
                out.put(key, e.getValue().isNull() ? "" : e.getValue().asText());
            }
        }
    }

    static List<Map.Entry<String, JsonNode>> fields(JsonNode n) {
        List<Map.Entry<String, JsonNode>> out = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = n.fields();
        it.forEachRemaining(out::add);
        return out;
    }

    static Optional<Workload> workload(String kind, String role, boolean gpu) {
        return workloads.stream().filter(w -> w.kind().equals(kind) && w.role().equals(role) && (!role.equals("worker") || w.gpu() == gpu))
                .findFirst();
    }

    // ------------------------------------------------------------------------------------------
    // checkers: each returns the problems it finds, one line each

    static List<String> unknownFarmEnv(String where, Collection<String> names) {
        Set<String> known = ConfigKeys.ALL.stream().map(ConfigKey::envName).collect(Collectors.toSet());
        known.add("FARM_CONFIG");
        // a secret setting may also come from a file its variable with _FILE names
        ConfigKeys.ALL.stream().filter(ConfigKey::secret).forEach(k -> known.add(k.envName() + ConfigLoader.SECRET_FILE_SUFFIX));
        List<String> out = new ArrayList<>();
        for (String n : names) {
            if (n.startsWith("FARM_") && !known.contains(n)) {
                out.add(where + ": " + n + " is not the environment variable of any key in ConfigKeys.ALL (nor FARM_CONFIG, nor the _FILE variable of a secret)");
            }
        }
        return out;
    }

    static List<String> unknownConfigKeys(String where, String farmYaml) {
        List<String> out = new ArrayList<>();
        for (String k : flattenConfig(farmYaml).keySet()) {
            if (ConfigKeys.byName(k).isEmpty()) {
                out.add(where + ": '" + k + "' is not a farm setting (ConfigKeys)");
            }
        }
        return out;
    }

    static List<String> unknownMetrics(String where, String expr) {
        List<String> out = new ArrayList<>();
        Matcher m = FARM_METRIC.matcher(expr);
        while (m.find()) {
            if (metricBase(m.group()) == null) {
                out.add(where + ": metric " + m.group() + " is not exported by the farm (EXPORTED_METRICS) in: " + expr.strip());
            }
        }
        return out;
    }

    /** The exported metric a series name belongs to, or null. */
    static String metricBase(String name) {
        if (EXPORTED_METRICS.contains(name)) {
            return name;
        }
        for (String s : METRIC_SUFFIXES) {
            if (name.endsWith(s) && EXPORTED_METRICS.contains(name.substring(0, name.length() - s.length()))) {
                return name.substring(0, name.length() - s.length());
            }
        }
        return null;
    }

    /** The container's ports by name and number as strings. */
    static Set<String> declaredPorts(JsonNode container) {
        Set<String> out = new LinkedHashSet<>();
        for (JsonNode p : container.path("ports")) {
            out.add(p.path("containerPort").asText());
            if (p.has("name")) {
                out.add(p.path("name").asText());
            }
        }
        return out;
    }

    static List<String> probeProblems(String where, JsonNode container) {
        List<String> out = new ArrayList<>();
        Set<String> ports = declaredPorts(container);
        for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
            JsonNode get = container.path(probe).path("httpGet");
            if (get.isMissingNode()) {
                continue;
            }
            String port = get.path("port").asText();
            if (!ports.contains(port)) {
                out.add(where + ": " + probe + " port " + port + " is not a declared containerPort " + ports);
            }
            String path = get.path("path").asText();
            if (!HEALTH_PATHS.contains(path)) {
                out.add(where + ": " + probe + " path " + path + " is not served (the processes serve " + new TreeSet<>(HEALTH_PATHS) + ")");
            }
        }
        if (container.path("livenessProbe").isMissingNode() || container.path("readinessProbe").isMissingNode()) {
            out.add(where + ": needs a livenessProbe (/health) and a readinessProbe (/health/ready)");
        }
        return out;
    }

    static List<String> graceProblems(String where, long graceMs, long drainMs) {
        // the drain runs for up to drain-timeout-ms, then gives the task back and sends a last heartbeat
        long margin = 10_000;
        return graceMs >= drainMs + margin ? List.of()
                : List.of(where + ": grace period " + graceMs + " ms does not outlast worker.drain-timeout-ms " + drainMs
                        + " ms plus " + margin + " ms to give the task back: the worker would be killed mid-drain");
    }

    static List<String> kustomizationProblems(String where, Collection<String> listed, Collection<String> manifestsInFolder) {
        List<String> out = new ArrayList<>();
        for (String f : manifestsInFolder) {
            if (!listed.contains(f)) {
                out.add(where + ": " + f + " is in the folder but not in resources");
            }
        }
        for (String f : listed) {
            if (!manifestsInFolder.contains(f)) {
                out.add(where + ": resource " + f + " does not exist");
            }
        }
        return out;
    }

    static List<String> imageProblems(String where, String image, Set<String> built) {
        if (!image.startsWith(IMAGE_PREFIX)) {
            return List.of();
        }
        return built.contains(repository(image)) ? List.of()
                : List.of(where + ": image " + image + " is not built by deploy/images (built: " + built + ")");
    }

    static boolean selects(JsonNode matchLabels, JsonNode labels) {
        if (!matchLabels.isObject() || matchLabels.isEmpty()) {
            return false;
        }
        for (Map.Entry<String, JsonNode> e : fields(matchLabels)) {
            if (!e.getValue().asText().equals(labels.path(e.getKey()).asText(null))) {
                return false;
            }
        }
        return true;
    }

    static long durationMs(String s) {
        Matcher m = Pattern.compile("(\\d+)(ms|s|m|h)").matcher(s.strip());
        long total = 0;
        while (m.find()) {
            long n = Long.parseLong(m.group(1));
            total += switch (m.group(2)) {
                case "ms" -> n;
                case "s" -> n * 1000;
                case "m" -> n * 60_000;
                default -> n * 3_600_000;
            };
        }
        return total;
    }

    static String text(JsonNode n) {
        if (n.isArray()) {
            List<String> parts = new ArrayList<>();
            n.forEach(x -> parts.add(x.asText()));
            return String.join(" ", parts);
        }
        return n.asText("");
    }

    // ------------------------------------------------------------------------------------------
    // the checks on deploy/

    @Test
    void theWorkersMetricNamesAreReadFromItsRegistry() {
        assertThat(EXPORTED_METRICS).contains("farm_worker_tasks_total", "farm_worker_step_seconds", "farm_worker_task_seconds",
                "farm_worker_busy", "farm_worker_images_per_second", "farm_worker_gpu_memory_bytes", "farm_tasks");
    }

    /**
     * The images run workers and coordinators, which never train: each removes the trainer's jars
     * (libtorch alone is hundreds of MB) that the shared build copies next to farm.jar, and every
     * jar name it removes is one the build really makes (so a renamed artifact cannot slip back in).
     */
    @Test
    void noServingImageCarriesTheTrainer() throws Exception {
        List<String> trainerJars = List.of("cnfarm-trainer-", "pytorch-", "openblas-", "javacpp-");
        for (Dockerfile df : dockerfiles.values()) {
            String text = java.nio.file.Files.readString(df.file());
            for (String jar : trainerJars) {
                assertThat(text).as(df.file() + " removes " + jar + "*.jar").contains("/opt/farm/lib/" + jar + "*.jar");
            }
        }
        Path lib = root.resolve("cli/target/lib");
        if (java.nio.file.Files.isDirectory(lib)) {
            try (var files = java.nio.file.Files.list(lib)) {
                List<String> names = files.map(f -> f.getFileName().toString()).toList();
                for (String jar : trainerJars) {
                    assertThat(names).as("the build copies a " + jar + "*.jar to remove").anyMatch(n -> n.startsWith(jar));
                }
            }
        }
    }

    @Test
    void everyYamlAndJsonFileParses() {
        assertThat(parseProblems).as("files under deploy/ that do not parse").isEmpty();
        assertThat(yamlDocs).as("YAML files under deploy/").isNotEmpty();
        assertThat(jsonDocs).as("JSON files under deploy/").containsKey(deploy.resolve("grafana/farm-dashboard.json"));
        assertThat(compose).as("deploy/compose/compose.yaml").isNotNull();
        assertThat(dockerfiles.keySet()).as("images built by deploy/images/*/Dockerfile")
                .contains(IMAGE_PREFIX + "coordinator", IMAGE_PREFIX + "worker");
        for (String kind : List.of("compose", "kubernetes")) {
            assertThat(workload(kind, "coordinator", false)).as("a coordinator in " + kind).isPresent();
            assertThat(workload(kind, "worker", true)).as("a GPU worker in " + kind).isPresent();
        }
    }

    @Test
    void everyFarmEnvironmentVariableIsAConfigKey() {
        List<String> problems = new ArrayList<>();
        for (Workload w : workloads) {
            problems.addAll(unknownFarmEnv(w.where(), w.env().keySet()));
            problems.addAll(w.problems());
        }
        for (Dockerfile df : dockerfiles.values()) {
            problems.addAll(unknownFarmEnv(rel(df.file()), df.env().keySet()));
        }
        // and any FARM_ name written anywhere else under deploy/ (comments, README, other services)
        try {
            for (Path f : filesUnder(deploy)) {
                Matcher m = Pattern.compile("\\bFARM_[A-Z0-9_]*[A-Z0-9]").matcher(Files.readString(f));
                Set<String> names = new TreeSet<>();
                while (m.find()) {
                    names.add(m.group());
                }
                problems.addAll(unknownFarmEnv(rel(f), names));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertThat(problems).as("FARM_* environment variables that no setting reads").isEmpty();
    }

    @Test
    void configMapFarmYamlHoldsOnlyConfigKeys() {
        List<String> problems = new ArrayList<>();
        int found = 0;
        for (JsonNode cm : k8sOfKind("ConfigMap")) {
            for (Map.Entry<String, JsonNode> e : fields(cm.path("data"))) {
                if (e.getKey().endsWith(".yaml") || e.getKey().endsWith(".yml")) {
                    found++;
                    problems.addAll(unknownConfigKeys("ConfigMap " + cm.path("metadata").path("name").asText() + " " + e.getKey(),
                            e.getValue().asText()));
                }
            }
        }
        assertThat(found).as("ConfigMaps holding a farm.yaml").isPositive();
        assertThat(problems).as("keys of the ConfigMap's farm.yaml that are not ConfigKeys").isEmpty();
    }

    @Test
    void configMapValuesAreNotSilentlyShadowedByEnvironment() {
        // The environment wins over the config file: a value in the ConfigMap that an image ENV or a
        // container env sets differently would be ignored without a word.
        List<String> problems = new ArrayList<>();
        for (Workload w : workloads) {
            for (Map.Entry<String, String> f : w.fileValues().entrySet()) {
                ConfigKey k = ConfigKeys.byName(f.getKey()).orElse(null);
                if (k == null) {
                    continue;
                }
                String env = w.env().get(k.envName());
                if (env != null && !env.startsWith("<") && !env.equals(f.getValue())) {
                    problems.add(w.where() + ": " + k.name() + "=" + f.getValue() + " in the config file is overridden by "
                            + k.envName() + "=" + env + " (image ENV or container env)");
                }
            }
        }
        assertThat(problems).as("config file values hidden by environment variables").isEmpty();
    }

    @Test
    void imagesUsedAreTheOnesBuiltHere() {
        Set<String> built = dockerfiles.keySet();
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Dockerfile> e : dockerfiles.entrySet()) {
            if (!e.getKey().equals(e.getValue().label())) {
                problems.add(rel(e.getValue().file()) + ": LABEL org.opencontainers.image.title is " + e.getValue().label()
                        + ", expected " + e.getKey() + " (the image is named after its folder)");
            }
        }
        Set<String> tags = new TreeSet<>();
        for (Map.Entry<String, JsonNode> s : fields(compose.path("services"))) {
            String image = s.getValue().path("image").asText("");
            String where = "compose service " + s.getKey();
            problems.addAll(imageProblems(where, image, built));
            if (image.startsWith(IMAGE_PREFIX)) {
                tags.add(tag(image));
            }
            JsonNode build = s.getValue().path("build");
            if (!build.isMissingNode()) {
                Path context = deploy.resolve("compose").resolve(build.path("context").asText(".")).normalize();
                String dockerfile = build.path("dockerfile").asText("Dockerfile");
                Path expected = deploy.resolve("images").resolve(repository(image).substring(IMAGE_PREFIX.length())).resolve("Dockerfile");
                if (!context.equals(root)) {
                    problems.add(where + ": build context " + context + " is not the repository root");
                }
                if (!context.resolve(dockerfile).normalize().equals(expected)) {
                    problems.add(where + ": image " + image + " is built from " + dockerfile + ", expected " + rel(expected));
                }
            }
        }
        for (JsonNode d : k8s) {
            for (String list : List.of("containers", "initContainers")) {
                for (JsonNode c : d.path("spec").path("template").path("spec").path(list)) {
                    String image = c.path("image").asText("");
                    problems.addAll(imageProblems(d.path("kind").asText() + " " + d.path("metadata").path("name").asText(), image, built));
                    if (image.startsWith(IMAGE_PREFIX)) {
                        tags.add(tag(image));
                    }
                }
            }
            if ("Kustomization".equals(d.path("kind").asText())) {
                for (JsonNode i : d.path("images")) {
                    problems.addAll(imageProblems("kustomization images", i.path("name").asText(), built));
                    if (i.has("newTag")) {
                        tags.add(i.path("newTag").asText());
                    }
                }
            }
        }
        if (tags.size() > 1) {
            problems.add("the farm's images are used with different tags " + tags + ": one release, one tag");
        }
        assertThat(problems).as("image references").isEmpty();
    }

    @Test
    void portsMatchTheConfiguredPorts() {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Dockerfile> e : dockerfiles.entrySet()) {
            Dockerfile df = e.getValue();
            String role = roleOf(e.getKey());
            if (role == null) {
                continue;
            }
            ConfigKey portKey = role.equals("coordinator") ? ConfigKeys.COORDINATOR_PORT : ConfigKeys.WORKER_METRICS_PORT;
            int port = Integer.parseInt(df.env().getOrDefault(portKey.envName(), portKey.defaultValue()));
            if (!df.exposed().equals(List.of(port))) {
                problems.add(rel(df.file()) + ": EXPOSE " + df.exposed() + " but " + portKey.name() + " is " + port + " in the image");
            }
            if (df.healthcheck() != null) {
                problems.addAll(urlProblems(rel(df.file()) + " HEALTHCHECK", df.healthcheck(), port));
            }
            if (role.equals("coordinator") && !"0.0.0.0".equals(df.env().get(ConfigKeys.COORDINATOR_HOST.envName()))) {
                problems.add(rel(df.file()) + ": the coordinator must listen on 0.0.0.0 in a container (FARM_COORDINATOR_HOST)");
            }
        }
        for (Workload w : workloads) {
            int port = w.port();
            if (port <= 0) {
                problems.add(w.where() + ": the " + w.role() + " port is " + port + "; deployments need a fixed port");
                continue;
            }
            if (w.role().equals("coordinator") && !"0.0.0.0".equals(w.effective(ConfigKeys.COORDINATOR_HOST))) {
                problems.add(w.where() + ": coordinator.host is " + w.effective(ConfigKeys.COORDINATOR_HOST) + ", not reachable from outside the container");
            }
            if (w.kind().equals("kubernetes")) {
                Set<String> numbers = new LinkedHashSet<>();
                w.node().path("ports").forEach(p -> numbers.add(p.path("containerPort").asText()));
                if (!numbers.equals(Set.of(String.valueOf(port)))) {
                    problems.add(w.where() + ": containerPorts " + numbers + " but the " + w.role() + " listens on " + port);
                }
            } else {
                for (JsonNode p : w.node().path("ports")) {
                    String spec = p.isObject() ? p.path("target").asText() : p.asText().replaceAll("/.*", "");
                    String target = spec.substring(spec.lastIndexOf(':') + 1);
                    if (!target.equals(String.valueOf(port))) {
                        problems.add(w.where() + ": publishes container port " + target + " but the " + w.role() + " listens on " + port);
                    }
                }
                JsonNode hc = w.node().path("healthcheck").path("test");
                if (!hc.isMissingNode()) {
                    problems.addAll(urlProblems(w.where() + " healthcheck", text(hc), port));
                }
            }
        }
        assertThat(problems).as("ports against coordinator.port / worker.metrics-port").isEmpty();
    }

    static List<String> urlProblems(String where, String command, int port) {
        List<String> out = new ArrayList<>();
        Matcher m = URL_PORT_PATH.matcher(command);
        if (!m.find()) {
            out.add(where + ": no http://host:port/path in " + command);
            return out;
        }
        if (Integer.parseInt(m.group(1)) != port) {
            out.add(where + ": asks port " + m.group(1) + " but the process listens on " + port);
        }
        if (!HEALTH_PATHS.contains(m.group(2))) {
            out.add(where + ": path " + m.group(2) + " is not one of " + new TreeSet<>(HEALTH_PATHS));
        }
        return out;
    }

    @Test
    void probesAndScrapeAnnotationsUseDeclaredPortsAndServedPaths() {
        List<String> problems = new ArrayList<>();
        for (Workload w : workloads) {
            if (!w.kind().equals("kubernetes")) {
                continue;
            }
            problems.addAll(probeProblems(w.where(), w.node()));
        }
        for (JsonNode d : k8sOfKind("Deployment")) {
            JsonNode template = d.path("spec").path("template");
            JsonNode ann = template.path("metadata").path("annotations");
            if (!"true".equals(ann.path("prometheus.io/scrape").asText())) {
                continue;
            }
            String where = "Deployment " + d.path("metadata").path("name").asText();
            Set<String> ports = new LinkedHashSet<>();
            template.path("spec").path("containers").forEach(c -> ports.addAll(declaredPorts(c)));
            if (!ports.contains(ann.path("prometheus.io/port").asText())) {
                problems.add(where + ": prometheus.io/port " + ann.path("prometheus.io/port").asText() + " is not a containerPort " + ports);
            }
            if (!METRICS_PATH.equals(ann.path("prometheus.io/path").asText(METRICS_PATH))) {
                problems.add(where + ": prometheus.io/path " + ann.path("prometheus.io/path").asText() + " is not " + METRICS_PATH);
            }
        }
        assertThat(problems).as("probes and scrape annotations").isEmpty();
    }

    @Test
    void servicesSelectDeploymentsAndTargetDeclaredPorts() {
        List<String> problems = new ArrayList<>();
        List<JsonNode> deployments = k8sOfKind("Deployment");
        for (JsonNode d : deployments) {
            if (!selects(d.path("spec").path("selector").path("matchLabels"), d.path("spec").path("template").path("metadata").path("labels"))) {
                problems.add("Deployment " + d.path("metadata").path("name").asText() + ": selector does not match its own pod labels");
            }
        }
        for (JsonNode s : k8sOfKind("Service")) {
            String where = "Service " + s.path("metadata").path("name").asText();
            List<JsonNode> selected = deployments.stream()
                    .filter(d -> selects(s.path("spec").path("selector"), d.path("spec").path("template").path("metadata").path("labels")))
                    .toList();
            if (selected.isEmpty()) {
                problems.add(where + ": selector " + s.path("spec").path("selector") + " matches no Deployment's pods");
                continue;
            }
            for (JsonNode p : s.path("spec").path("ports")) {
                String target = p.path("targetPort").asText(p.path("port").asText());
                for (JsonNode d : selected) {
                    Set<String> ports = new LinkedHashSet<>();
                    d.path("spec").path("template").path("spec").path("containers").forEach(c -> ports.addAll(declaredPorts(c)));
                    if (!ports.contains(target)) {
                        problems.add(where + ": targetPort " + target + " is not a containerPort of Deployment "
                                + d.path("metadata").path("name").asText() + " " + ports);
                    }
                }
            }
        }
        assertThat(problems).as("Service selectors and target ports").isEmpty();
    }

    @Test
    void disruptionBudgetsSelectTheDeployments() {
        List<String> problems = new ArrayList<>();
        List<JsonNode> pdbs = k8sOfKind("PodDisruptionBudget");
        for (JsonNode d : k8sOfKind("Deployment")) {
            JsonNode labels = d.path("spec").path("template").path("metadata").path("labels");
            if (pdbs.stream().noneMatch(p -> selects(p.path("spec").path("selector").path("matchLabels"), labels))) {
                problems.add("Deployment " + d.path("metadata").path("name").asText() + " has no PodDisruptionBudget selecting its pods");
            }
        }
        for (JsonNode p : pdbs) {
            JsonNode sel = p.path("spec").path("selector").path("matchLabels");
            if (k8sOfKind("Deployment").stream().noneMatch(d -> selects(sel, d.path("spec").path("template").path("metadata").path("labels")))) {
                problems.add("PodDisruptionBudget " + p.path("metadata").path("name").asText() + ": selector " + sel + " matches no Deployment's pods");
            }
        }
        assertThat(problems).as("PodDisruptionBudget selectors").isEmpty();
    }

    @Test
    void gpuWorkersAskForAGpu() {
        List<String> problems = new ArrayList<>();
        for (Workload w : workloads) {
            if (!w.role().equals("worker") || !w.gpu()) {
                continue;
            }
            if (w.kind().equals("kubernetes")) {
                if (w.node().path("resources").path("limits").path("nvidia.com/gpu").asInt(0) < 1) {
                    problems.add(w.where() + ": resources.limits has no nvidia.com/gpu");
                }
            } else {
                boolean gpu = false;
                for (JsonNode dev : w.node().path("deploy").path("resources").path("reservations").path("devices")) {
                    gpu |= "nvidia".equals(dev.path("driver").asText()) && text(dev.path("capabilities")).contains("gpu");
                }
                if (!gpu) {
                    problems.add(w.where() + ": no deploy.resources.reservations.devices entry with driver nvidia and capabilities [gpu]");
                }
            }
            if (!"cuda".equals(w.effective(ConfigKeys.WORKER_EXECUTION_PROVIDER))) {
                problems.add(w.where() + ": a GPU worker with worker.execution-provider=" + w.effective(ConfigKeys.WORKER_EXECUTION_PROVIDER));
            }
        }
        assertThat(problems).as("GPU requests of the GPU workers").isEmpty();
    }

    @Test
    void workersGetLongerThanTheirDrainToStop() {
        List<String> problems = new ArrayList<>();
        for (Workload w : workloads) {
            if (!w.role().equals("worker")) {
                continue;
            }
            long drain = Long.parseLong(w.effective(ConfigKeys.WORKER_DRAIN_TIMEOUT_MS));
            long grace = w.kind().equals("kubernetes")
                    ? w.pod().path("terminationGracePeriodSeconds").asLong(30) * 1000   // Kubernetes' default: 30 s
                    : durationMs(w.node().path("stop_grace_period").asText("10s"));      // compose's default: 10 s
            problems.addAll(graceProblems(w.where(), grace, drain));
        }
        assertThat(problems).as("grace periods against worker.drain-timeout-ms (default "
                + ConfigKeys.WORKER_DRAIN_TIMEOUT_MS.defaultValue() + ")").isEmpty();
    }

    @Test
    void scaledObjectScalesTheWorkerDeploymentOnExportedMetrics() {
        List<String> problems = new ArrayList<>();
        List<JsonNode> scaled = k8sOfKind("ScaledObject");
        Set<String> gpuWorkerDeployments = workloads.stream().filter(w -> w.kind().equals("kubernetes") && w.role().equals("worker"))
                .map(Workload::name).collect(Collectors.toSet());
        if (scaled.isEmpty()) {
            problems.add("no KEDA ScaledObject in deploy/kubernetes");
        }
        for (JsonNode s : scaled) {
            String where = "ScaledObject " + s.path("metadata").path("name").asText();
            JsonNode ref = s.path("spec").path("scaleTargetRef");
            if (!gpuWorkerDeployments.contains(ref.path("name").asText())) {
                problems.add(where + ": scaleTargetRef " + ref.path("name").asText() + " is not a worker Deployment " + gpuWorkerDeployments);
            }
            if (!"Deployment".equals(ref.path("kind").asText("Deployment"))) {
                problems.add(where + ": scaleTargetRef kind " + ref.path("kind").asText() + " is not Deployment");
            }
            int min = s.path("spec").path("minReplicaCount").asInt(0);
            int max = s.path("spec").path("maxReplicaCount").asInt(100);
            if (min > max) {
                problems.add(where + ": minReplicaCount " + min + " > maxReplicaCount " + max);
            }
            for (JsonNode t : s.path("spec").path("triggers")) {
                if (!"prometheus".equals(t.path("type").asText())) {
                    problems.add(where + ": trigger " + t.path("type").asText() + " (the Kafka scaler cannot see share groups; use prometheus)");
                    continue;
                }
                String query = t.path("metadata").path("query").asText();
                if (!FARM_METRIC.matcher(query).find()) {
                    problems.add(where + ": query uses no farm metric: " + query);
                }
                problems.addAll(unknownMetrics(where, query));
                if (t.path("metadata").path("threshold").asText("").isBlank()) {
                    problems.add(where + ": prometheus trigger without threshold");
                }
            }
        }
        assertThat(problems).as("KEDA ScaledObject").isEmpty();
    }

    @Test
    void dashboardAndAlertsUseOnlyExportedMetrics() {
        List<String> problems = new ArrayList<>();
        int exprs = 0;
        for (Map.Entry<Path, JsonNode> e : jsonDocs.entrySet()) {
            List<JsonNode> found = e.getValue().findValues("expr");
            exprs += found.size();
            for (JsonNode expr : found) {
                problems.addAll(unknownMetrics(rel(e.getKey()), expr.asText()));
            }
        }
        for (Map.Entry<Path, List<JsonNode>> e : yamlDocs.entrySet()) {
            for (JsonNode doc : e.getValue()) {
                for (JsonNode group : doc.path("groups")) {
                    for (JsonNode rule : group.path("rules")) {
                        exprs++;
                        problems.addAll(unknownMetrics(rel(e.getKey()) + " rule " + rule.path("alert").asText(rule.path("record").asText()),
                                rule.path("expr").asText()));
                    }
                }
            }
        }
        assertThat(exprs).as("PromQL expressions in dashboards and rules").isPositive();
        assertThat(problems).as("metric names in dashboards and Prometheus rules").isEmpty();
    }

    @Test
    void dashboardUsesItsDatasourceVariable() {
        JsonNode dash = jsonDocs.get(deploy.resolve("grafana/farm-dashboard.json"));
        List<String> problems = new ArrayList<>();
        boolean variable = false;
        for (JsonNode v : dash.path("templating").path("list")) {
            variable |= "datasource".equals(v.path("type").asText()) && "prometheus".equals(v.path("query").asText())
                    && "datasource".equals(v.path("name").asText());
        }
        if (!variable) {
            problems.add("no templating variable 'datasource' of type datasource, query prometheus");
        }
        Set<Integer> ids = new LinkedHashSet<>();
        for (JsonNode p : dash.path("panels")) {
            if (!ids.add(p.path("id").asInt())) {
                problems.add("panel id " + p.path("id").asInt() + " used twice");
            }
            for (JsonNode t : p.path("targets")) {
                if (!"${datasource}".equals(t.path("datasource").path("uid").asText())) {
                    problems.add("panel '" + p.path("title").asText() + "' target " + t.path("refId").asText() + " does not use ${datasource}");
                }
            }
        }
        if (dash.path("schemaVersion").asInt() < 36) {
            problems.add("schemaVersion " + dash.path("schemaVersion").asInt() + " is older than Grafana 9");
        }
        assertThat(problems).as("Grafana dashboard").isEmpty();
    }

    @Test
    void kustomizationListsEveryManifestInItsFolder() throws IOException {
        List<String> problems = new ArrayList<>();
        int found = 0;
        for (Path f : yamlDocs.keySet()) {
            if (!f.getFileName().toString().equals("kustomization.yaml")) {
                continue;
            }
            found++;
            List<String> listed = new ArrayList<>();
            yamlDocs.get(f).get(0).path("resources").forEach(r -> listed.add(r.asText()));
            List<String> inFolder;
            try (Stream<Path> s = Files.list(f.getParent())) {
                inFolder = s.map(p -> p.getFileName().toString())
                        .filter(n -> (n.endsWith(".yaml") || n.endsWith(".yml")) && !n.equals("kustomization.yaml"))
                        .sorted().toList();
            }
            problems.addAll(kustomizationProblems(rel(f), listed, inFolder));
        }
        assertThat(found).as("kustomization.yaml files").isPositive();
        assertThat(problems).as("kustomization resources").isEmpty();
    }

    @Test
    void referencedSecretsAndConfigMapsExist() {
        List<String> problems = new ArrayList<>();
        Map<String, Set<String>> secrets = new LinkedHashMap<>();
        for (JsonNode s : k8sOfKind("Secret")) {
            Set<String> keys = new LinkedHashSet<>();
            s.path("data").fieldNames().forEachRemaining(keys::add);
            s.path("stringData").fieldNames().forEachRemaining(keys::add);
            secrets.put(s.path("metadata").path("name").asText(), keys);
        }
        Set<String> configMaps = k8sOfKind("ConfigMap").stream().map(c -> c.path("metadata").path("name").asText()).collect(Collectors.toSet());
        for (JsonNode d : k8sOfKind("Deployment")) {
            String where = "Deployment " + d.path("metadata").path("name").asText();
            JsonNode pod = d.path("spec").path("template").path("spec");
            for (JsonNode c : pod.path("containers")) {
                for (JsonNode e : c.path("env")) {
                    JsonNode ref = e.path("valueFrom").path("secretKeyRef");
                    if (!ref.isMissingNode() && !secrets.getOrDefault(ref.path("name").asText(), Set.of()).contains(ref.path("key").asText())) {
                        problems.add(where + ": " + e.path("name").asText() + " reads key " + ref.path("key").asText() + " of Secret "
                                + ref.path("name").asText() + ", which is not defined here");
                    }
                }
                Set<String> volumes = new LinkedHashSet<>();
                pod.path("volumes").forEach(v -> volumes.add(v.path("name").asText()));
                for (JsonNode m : c.path("volumeMounts")) {
                    if (!volumes.contains(m.path("name").asText())) {
                        problems.add(where + ": volumeMount " + m.path("name").asText() + " has no volume");
                    }
                }
            }
            for (JsonNode v : pod.path("volumes")) {
                if (v.has("configMap") && !configMaps.contains(v.path("configMap").path("name").asText())) {
                    problems.add(where + ": volume " + v.path("name").asText() + " names ConfigMap " + v.path("configMap").path("name").asText()
                            + ", which is not defined here");
                }
            }
        }
        assertThat(problems).as("Secret and ConfigMap references").isEmpty();
    }

    @Test
    void prometheusInComposeScrapesTheFarmServicesOnTheirPorts() throws IOException {
        Path file = deploy.resolve("compose/prometheus.yml");
        JsonNode prom = yamlDocs.get(file).get(0);
        List<String> problems = new ArrayList<>();
        Map<String, Workload> farm = workloads.stream().filter(w -> w.kind().equals("compose"))
                .collect(Collectors.toMap(Workload::name, w -> w));
        Set<String> services = new LinkedHashSet<>();
        compose.path("services").fieldNames().forEachRemaining(services::add);
        Set<String> scraped = new LinkedHashSet<>();
        for (JsonNode job : prom.path("scrape_configs")) {
            String where = rel(file) + " job " + job.path("job_name").asText();
            List<String[]> targets = new ArrayList<>();
            for (JsonNode sc : job.path("static_configs")) {
                for (JsonNode t : sc.path("targets")) {
                    targets.add(t.asText().split(":", 2));
                }
            }
            for (JsonNode dns : job.path("dns_sd_configs")) {
                for (JsonNode n : dns.path("names")) {
                    targets.add(new String[] {n.asText(), dns.path("port").asText()});
                }
            }
            for (String[] t : targets) {
                if (!services.contains(t[0])) {
                    problems.add(where + ": target host " + t[0] + " is not a compose service " + services);
                    continue;
                }
                Workload w = farm.get(t[0]);
                if (w == null) {
                    continue;   // prometheus scraping itself, say
                }
                scraped.add(t[0]);
                if (t.length < 2 || !t[1].equals(String.valueOf(w.port()))) {
                    problems.add(where + ": scrapes " + t[0] + " on port " + (t.length < 2 ? "(none)" : t[1])
                            + " but it serves /metrics on " + w.port());
                }
                if (!METRICS_PATH.equals(job.path("metrics_path").asText(METRICS_PATH))) {
                    problems.add(where + ": metrics_path " + job.path("metrics_path").asText() + " is not " + METRICS_PATH);
                }
            }
        }
        for (String s : farm.keySet()) {
            if (!scraped.contains(s)) {
                problems.add(rel(file) + ": compose service " + s + " is not scraped");
            }
        }
        // rule files and this file reach the container through the compose mounts
        Set<String> mounted = new LinkedHashSet<>();
        for (JsonNode v : compose.path("services").path("prometheus").path("volumes")) {
            String[] parts = v.asText().split(":");
            if (parts.length >= 2) {
                mounted.add(parts[1]);
            }
        }
        for (JsonNode r : prom.path("rule_files")) {
            if (!mounted.contains(r.asText())) {
                problems.add(rel(file) + ": rule file " + r.asText() + " is not mounted into the prometheus service");
            }
        }
        assertThat(problems).as("Prometheus scrape targets in compose").isEmpty();
    }

    @Test
    void composeMountsAndBuildsNameExistingFiles() {
        List<String> problems = new ArrayList<>();
        Path dir = deploy.resolve("compose");
        for (Map.Entry<String, JsonNode> s : fields(compose.path("services"))) {
            for (JsonNode v : s.getValue().path("volumes")) {
                String source = v.isObject() ? v.path("source").asText() : v.asText().split(":")[0];
                if (source.startsWith(".") || source.startsWith("/")) {
                    if (!Files.exists(dir.resolve(source).normalize())) {
                        problems.add("compose service " + s.getKey() + ": mounts " + source + ", which does not exist");
                    }
                }
            }
            JsonNode build = s.getValue().path("build");
            if (!build.isMissingNode()) {
                Path df = dir.resolve(build.path("context").asText(".")).resolve(build.path("dockerfile").asText("Dockerfile")).normalize();
                if (!Files.isRegularFile(df)) {
                    problems.add("compose service " + s.getKey() + ": Dockerfile " + df + " does not exist");
                }
            }
        }
        // the dashboards provider reads the folder compose mounts deploy/grafana into
        Path provider = dir.resolve("grafana/provisioning/dashboards/farm.yaml");
        if (yamlDocs.containsKey(provider)) {
            String path = yamlDocs.get(provider).get(0).path("providers").get(0).path("options").path("path").asText();
            boolean mounted = false;
            for (JsonNode v : compose.path("services").path("grafana").path("volumes")) {
                String[] parts = v.asText().split(":");
                mounted |= parts.length >= 2 && parts[1].equals(path) && dir.resolve(parts[0]).normalize().equals(deploy.resolve("grafana"));
            }
            if (!mounted) {
                problems.add(rel(provider) + ": dashboards path " + path + " is not where compose mounts deploy/grafana");
            }
        }
        assertThat(problems).as("compose files and folders").isEmpty();
    }

    // ------------------------------------------------------------------------------------------
    // the checkers catch mistakes

    @Test
    void envCheckerReportsAnUnknownVariable() {
        assertThat(unknownFarmEnv("made-up", List.of("FARM_KAFKA_BOOTSTRAP_SERVERS", "FARM_CONFIG", "FARM_NO_SUCH_KEY", "JAVA_TOOL_OPTIONS")))
                .singleElement().asString().contains("FARM_NO_SUCH_KEY");
    }

    @Test
    void configCheckerReportsAMisspelledKey() {
        String yaml = """
                kafka:
                  bootstrap-server: broker:9092
                worker:
                  metrics-port: 9400
                data-dir: /var/lib/farm
                """;
        assertThat(unknownConfigKeys("made-up", yaml)).singleElement().asString().contains("kafka.bootstrap-server");
    }

    @Test
    void metricCheckerReportsAnUnknownMetricAndAcceptsHistogramSeries() {
        assertThat(unknownMetrics("made-up",
                "histogram_quantile(0.95, sum by (le) (rate(farm_dispatch_latency_seconds_bucket[5m]))) + sum(rate(farm_no_such_metric_total[5m]))"))
                .singleElement().asString().contains("farm_no_such_metric_total");
        assertThat(unknownMetrics("made-up", "sum(rate(farm_task_render_seconds_sum[5m])) / sum(rate(farm_task_render_seconds_count[5m]))"))
                .isEmpty();
    }

    @Test
    void probeCheckerReportsAnUnservedPathAndAnUndeclaredPort() throws IOException {
        JsonNode container = YAML.readTree("""
                name: worker
                ports: [{name: metrics, containerPort: 9400}]
                livenessProbe: {httpGet: {path: /healthz, port: metrics}}
                readinessProbe: {httpGet: {path: /health/ready, port: 8080}}
                """);
        assertThat(probeProblems("made-up", container)).hasSize(2)
                .anySatisfy(p -> assertThat(p).contains("/healthz"))
                .anySatisfy(p -> assertThat(p).contains("port 8080"));
    }

    @Test
    void graceCheckerReportsAGracePeriodShorterThanTheDefaultDrain() {
        long drain = Long.parseLong(ConfigKeys.WORKER_DRAIN_TIMEOUT_MS.defaultValue());
        assertThat(graceProblems("made-up", 60_000, drain)).singleElement().asString().contains("60000 ms");
        assertThat(graceProblems("made-up", 180_000, drain)).isEmpty();
        assertThat(durationMs("2m30s")).isEqualTo(150_000);
    }

    @Test
    void kustomizationAndImageCheckersReportWhatIsMissing() {
        assertThat(kustomizationProblems("made-up", List.of("a.yaml", "gone.yaml"), List.of("a.yaml", "b.yaml")))
                .hasSize(2)
                .anySatisfy(p -> assertThat(p).contains("b.yaml is in the folder"))
                .anySatisfy(p -> assertThat(p).contains("gone.yaml does not exist"));
        assertThat(imageProblems("made-up", "cnfarm/renderer:0.1.0", Set.of("cnfarm/coordinator", "cnfarm/worker")))
                .singleElement().asString().contains("cnfarm/renderer");
        assertThat(imageProblems("made-up", "apache/kafka:4.4.0", Set.of("cnfarm/coordinator"))).isEmpty();
    }
}
