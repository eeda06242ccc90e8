package dev.cnfarm.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.TopicReplay;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.common.testinfra.FarmTestInfra;
import dev.cnfarm.coordinator.CoordinatorService;
import dev.cnfarm.coordinator.auth.Role;
import dev.cnfarm.coordinator.auth.TokenAdmin;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The API's protection against the outside, on a real coordinator over a real broker and S3
 * server: tokens (none, wrong, malformed, revoked), tenants kept apart (jobs, websockets, object
 * keys), the admin role, rate limits, the cap on unfinished jobs, bad job input of many kinds,
 * and secrets kept out of Kafka.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SecurityIT {
    private FarmTestInfra infra;
    private FarmConfig config;
    private CoordinatorService coordinator;
    private String base;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final List<String> issued = new ArrayList<>();
    private String alice;
    private String bob;
    private String ops;
    private String aliceKey;
    private String bobKey;
    private String aliceJob;

    @BeforeAll
    void start() throws Exception {
        infra = FarmTestInfra.embedded(Files.createTempDirectory("security-it"));
        config = infra.config().with(ConfigKeys.COORDINATOR_PORT, "0").with(ConfigKeys.COORDINATOR_MAX_TASKS, "500")
                .with(ConfigKeys.SCHEDULER_MIN_WINDOW, "1000")
                .with(ConfigKeys.COORDINATOR_RATE_LIMIT, "20").with(ConfigKeys.COORDINATOR_RATE_BURST, "100")
                .with(ConfigKeys.COORDINATOR_MAX_ACTIVE_JOBS, "3");
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', 4, 5, 6};
        try (ObjectStore store = new MinioObjectStore(config.s3())) {
            for (String tenant : List.of("alice", "bob", "carol", "mallory", "flood")) {
                store.put(ObjectKeys.upload(tenant, Sha256.of(png)), png, "image/png");
            }
        }
        aliceKey = ObjectKeys.upload("alice", Sha256.of(png));
        bobKey = ObjectKeys.upload("bob", Sha256.of(png));
        coordinator = CoordinatorService.start(config);
        base = "http://127.0.0.1:" + coordinator.port();
        alice = token("alice", Role.TENANT);
        bob = token("bob", Role.TENANT);
        ops = token("ops", Role.ADMIN);
        HttpResponse<String> r = call("POST", "/api/v1/jobs", alice, job(aliceKey, "alice secret project"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        aliceJob = Json.mapper().readTree(r.body()).get("job_id").asText();
    }

    @AfterAll
    void stop() {
        if (coordinator != null) {
            coordinator.close();
        }
        infra.close();
    }

    private String token(String tenant, Role role) {
        String t = coordinator.issueToken(tenant, role, "SecurityIT");
        issued.add(t);
        return t;
    }

    private static String job(String key, String name) {
        return """
                {"name": "%s", "prompts": ["a private prompt"], "control_images": ["%s"], "seeds": [1], "steps": 2,
                 "width": 64, "height": 64}""".formatted(name, key);
    }

    private HttpResponse<String> call(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
        if (token != null) {
            b.header("Authorization", token.startsWith("Basic ") ? token : "Bearer " + token);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path, String token) throws Exception {
        return call("GET", path, token, null);
    }

    // ---- authentication -----------------------------------------------------------------------

    @Test
    void noTokenIsRefusedWith401AChallengeAndNothingElse() throws Exception {
        for (String[] c : new String[][] {{"GET", "/api/v1/jobs"}, {"GET", "/api/v1/jobs/" + aliceJob}, {"POST", "/api/v1/jobs"},
                {"POST", "/api/v1/uploads"}, {"GET", "/api/v1/workers"}, {"POST", "/api/v1/jobs/" + aliceJob + "/cancel"},
                {"GET", "/api/v1/jobs/" + aliceJob + "/outputs"}, {"GET", "/api/v1/admin/tokens"}}) {
            HttpResponse<String> r = call(c[0], c[1], null, c[0].equals("POST") ? job(aliceKey, "x") : null);
            assertThat(r.statusCode()).as(c[0] + " " + c[1]).isEqualTo(401);
            assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"farm\"");
            assertThat(r.body()).contains("Authorization: Bearer").doesNotContain("alice").doesNotContain(aliceJob.substring(4));
        }
        // what needs no token: health for probes, the page itself (it asks for a token), metrics for Prometheus
        assertThat(get("/health", null).statusCode()).isEqualTo(200);
        assertThat(get("/dashboard/", null).statusCode()).isEqualTo(200);
        assertThat(get("/metrics", null).body()).doesNotContain("alice");
    }

    @Test
    void wrongMalformedAndNonBearerTokensAreRefusedAlike() throws Exception {
        String wrongSecret = alice.substring(0, alice.length() - 1) + (alice.endsWith("A") ? "B" : "A");
        String unknown = "farm_0123456789abcdef_" + "x".repeat(43);
        for (String t : List.of(wrongSecret, unknown, "farm_short", "garbage", "")) {
            HttpResponse<String> r = get("/api/v1/jobs", t);
            assertThat(r.statusCode()).as(t).isEqualTo(401);
            assertThat(r.body()).doesNotContain("alice");
        }
        // the same words for a wrong secret and an unknown id: nothing says which ids exist
        assertThat(get("/api/v1/jobs", wrongSecret).body()).isEqualTo(get("/api/v1/jobs", unknown).body());
        // the dashboard's cookie works like the header; signing in needs the header itself
        HttpResponse<String> byCookie = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/session"))
                .header("Cookie", "farm_token=" + alice).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(byCookie.statusCode()).isEqualTo(400);
        assertThat(byCookie.body()).contains("Authorization: Bearer");
        HttpResponse<String> signIn = call("POST", "/api/v1/session", alice, null);
        assertThat(signIn.statusCode()).isEqualTo(200);
        assertThat(signIn.headers().firstValue("set-cookie").orElseThrow()).contains("farm_token=").containsIgnoringCase("HttpOnly")
                .containsIgnoringCase("SameSite=Strict");
        HttpResponse<String> basic = call("GET", "/api/v1/jobs", "Basic YWxpY2U6c2VjcmV0", null);
        assertThat(basic.statusCode()).isEqualTo(401);
        assertThat(basic.body()).contains("Bearer");
    }

    @Test
    void aRevokedTokenIsRefusedAtOnceAndARevocationOnKafkaReachesTheCoordinator() throws Exception {
        String soon = token("erin", Role.TENANT);
        assertThat(get("/api/v1/jobs", soon).statusCode()).isEqualTo(200);
        coordinator.revokeToken(soon.substring(5, 21));
        assertThat(get("/api/v1/jobs", soon).statusCode()).isEqualTo(401);

        // as `farm tokens revoke` does it: straight on the tokens topic, from another process's point of view
        String other = token("erin", Role.TENANT);
        assertThat(get("/api/v1/jobs", other).statusCode()).isEqualTo(200);
        try (TokenAdmin admin = new TokenAdmin(config.kafka(), new Topics(config.kafka().topicPrefix()))) {
            admin.revoke(other.substring(5, 21));
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> get("/api/v1/jobs", other).statusCode() == 401);
        // a coordinator that starts later replays the revocation before it serves anyone
        try (CoordinatorService second = CoordinatorService.start(config)) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + second.port() + "/api/v1/jobs"))
                    .header("Authorization", "Bearer " + other).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(401);
            HttpResponse<String> valid = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + second.port()
                    + "/api/v1/jobs/" + aliceJob)).header("Authorization", "Bearer " + alice).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(valid.statusCode()).isEqualTo(200);
        }
    }

    // ---- tenants kept apart -------------------------------------------------------------------

    @Test
    void anotherTenantsJobIsNotFoundForEveryRoute() throws Exception {
        String unknown = "job-00000000000000000000";
        HttpResponse<String> theirs = get("/api/v1/jobs/" + aliceJob, bob);
        assertThat(theirs.statusCode()).isEqualTo(404);
        assertThat(theirs.body()).isEqualTo(get("/api/v1/jobs/" + unknown, bob).body().replace(unknown, aliceJob));
        for (String[] c : new String[][] {{"GET", "/outputs"}, {"GET", "/tasks/0/image"}, {"GET", "/tasks/0/control/0"},
                {"POST", "/cancel"}, {"POST", "/suspend"}, {"POST", "/resume"}}) {
            HttpResponse<String> r = call(c[0], "/api/v1/jobs/" + aliceJob + c[1], bob, null);
            assertThat(r.statusCode()).as(c[1]).isEqualTo(404);
            assertThat(r.body()).doesNotContain("alice");
        }
        HttpResponse<String> priority = call("PUT", "/api/v1/jobs/" + aliceJob + "/priority", bob, "{\"priority\": 100}");
        assertThat(priority.statusCode()).isEqualTo(404);
        assertThat(Json.mapper().readTree(get("/api/v1/jobs", bob).body()).get("jobs").toString()).doesNotContain(aliceJob);
        // alice's job is untouched
        JsonNode mine = Json.mapper().readTree(get("/api/v1/jobs/" + aliceJob, alice).body());
        assertThat(mine.at("/job/state").asText()).isNotEqualTo("cancelled");
        assertThat(mine.at("/job/priority").asInt()).isZero();
        // a tenant may not list another's jobs by asking
        assertThat(get("/api/v1/jobs?tenant=alice", bob).statusCode()).isEqualTo(403);
    }

    @Test
    void websocketsNeedATokenAndShowOnlyTheTenantsJobs() throws Exception {
        String ws = base.replace("http", "ws");
        assertThat(handshakeStatus(ws + "/ws", null)).isEqualTo(401);
        assertThat(handshakeStatus(ws + "/ws/jobs/" + aliceJob, bob)).isEqualTo(404);

        LinkedBlockingQueue<String> frames = new LinkedBlockingQueue<>();
        WebSocket socket = http.newWebSocketBuilder().header("Authorization", "Bearer " + bob)
                .buildAsync(URI.create(ws + "/ws"), collector(frames)).get(10, TimeUnit.SECONDS);
        try {
            socket.sendText("{\"type\":\"subscribe\",\"jobs\":[\"" + aliceJob + "\"]}", true).get(5, TimeUnit.SECONDS);
            socket.sendText("{\"type\":\"subscribe\",\"all\":true}", true).get(5, TimeUnit.SECONDS);
            List<String> seen = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            while (System.nanoTime() < deadline) {
                String f = frames.poll(100, TimeUnit.MILLISECONDS);
                if (f != null) {
                    seen.add(f);
                }
            }
            assertThat(seen).anyMatch(f -> f.contains("\"type\":\"error\"") && f.contains("not found"));
            assertThat(String.join("\n", seen)).doesNotContain("alice secret project").doesNotContain("\"tenant\":\"alice\"");
        } finally {
            socket.abort();
        }
        // alice follows her own job over the same route
        LinkedBlockingQueue<String> hers = new LinkedBlockingQueue<>();
        WebSocket own = http.newWebSocketBuilder().header("Authorization", "Bearer " + alice)
                .buildAsync(URI.create(ws + "/ws/jobs/" + aliceJob), collector(hers)).get(10, TimeUnit.SECONDS);
        try {
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> hers.stream().anyMatch(f -> f.contains("alice secret project")));
        } finally {
            own.abort();
        }
    }

    @Test
    void anotherTenantsObjectKeysAndTraversalKeysAreRefused() throws Exception {
        String sha = aliceKey.substring(aliceKey.lastIndexOf('/') + 1);
        for (String key : List.of(aliceKey, "uploads/bob/../alice/" + sha, "uploads/bob/" + sha + "/../../alice/" + sha,
                "/uploads/alice/" + sha, "uploads/bob/..%2falice%2f" + sha, "outputs/alice/" + aliceJob + "/000000.png",
                "uploads/bob/", "uploads/bob/./" + sha)) {
            HttpResponse<String> r = call("POST", "/api/v1/jobs", bob, job(key, "steal"));
            assertThat(r.statusCode()).as(key + ": " + r.body()).isEqualTo(400);
            JsonNode fields = Json.mapper().readTree(r.body()).get("fields");
            assertThat(fields.get(0).get("field").asText()).as(r.body()).startsWith("control_images");
        }
        // bob's own key is fine, and an upload always lands under the caller's prefix
        assertThat(call("POST", "/api/v1/jobs?dry_run=true", bob, job(bobKey, "mine")).statusCode()).isEqualTo(200);
        HttpResponse<String> up = call("POST", "/api/v1/uploads", bob, "{\"sha256\":\"" + "ab".repeat(32) + "\",\"size_bytes\":10}");
        JsonNode answer = Json.mapper().readTree(up.body());
        assertThat(answer.get("key").asText()).isEqualTo("uploads/bob/" + "ab".repeat(32));
        // the presigned PUT is for that one key and expires
        assertThat(answer.get("upload_url").asText()).contains("/uploads/bob/" + "ab".repeat(32)).contains("X-Amz-Expires=3600");
        HttpResponse<String> traversalIndex = get("/api/v1/jobs/" + aliceJob + "/tasks/..%2F..%2Fx/image", alice);
        assertThat(traversalIndex.statusCode()).isEqualTo(400);
    }

    // ---- the admin role -----------------------------------------------------------------------

    @Test
    void anAdminSeesEveryTenantAndManagesTokensWhichTenantsCannot() throws Exception {
        assertThat(get("/api/v1/jobs/" + aliceJob, ops).statusCode()).isEqualTo(200);
        assertThat(get("/api/v1/jobs", ops).body()).contains(aliceJob);
        assertThat(get("/api/v1/admin/tokens", alice).statusCode()).isEqualTo(403);
        assertThat(call("POST", "/api/v1/admin/tokens", alice, "{\"tenant\":\"alice\",\"role\":\"admin\"}").statusCode()).isEqualTo(403);

        HttpResponse<String> made = call("POST", "/api/v1/admin/tokens", ops, "{\"tenant\":\"dave\",\"name\":\"dave's laptop\"}");
        assertThat(made.statusCode()).as(made.body()).isEqualTo(201);
        String dave = Json.mapper().readTree(made.body()).get("token").asText();
        issued.add(dave);
        String daveId = Json.mapper().readTree(made.body()).get("token_id").asText();
        JsonNode who = Json.mapper().readTree(get("/api/v1/whoami", dave).body());
        assertThat(who.get("tenant").asText()).isEqualTo("dave");
        assertThat(who.get("role").asText()).isEqualTo("tenant");

        String listing = get("/api/v1/admin/tokens", ops).body();
        assertThat(listing).contains(daveId).doesNotContain("sha256");
        for (String t : issued) {
            assertThat(listing).doesNotContain(t.substring(22));
        }
        HttpResponse<String> badTenant = call("POST", "/api/v1/admin/tokens", ops, "{\"tenant\":\"../etc\"}");
        assertThat(badTenant.statusCode()).isEqualTo(400);
        assertThat(badTenant.body()).contains("\"field\":\"tenant\"");

        assertThat(call("DELETE", "/api/v1/admin/tokens/" + daveId, ops, null).statusCode()).isEqualTo(200);
        assertThat(get("/api/v1/whoami", dave).statusCode()).isEqualTo(401);
        assertThat(call("DELETE", "/api/v1/admin/tokens/ffffffffffffffff", ops, null).statusCode()).isEqualTo(404);
    }

    // ---- limits -------------------------------------------------------------------------------

    @Test
    void aTenantPastItsRateGets429WithRetryAfterWhileOthersAreServed() throws Exception {
        String flood = token("flood", Role.TENANT);
        List<HttpResponse<String>> answers = new ArrayList<>();
        for (int i = 0; i < 160; i++) {
            answers.add(get("/api/v1/jobs", flood));
        }
        List<HttpResponse<String>> limited = answers.stream().filter(r -> r.statusCode() == 429).toList();
        assertThat(limited).as("past a burst of 100").isNotEmpty();
        assertThat(answers.stream().filter(r -> r.statusCode() == 200).count()).isGreaterThanOrEqualTo(100);
        HttpResponse<String> one = limited.get(0);
        assertThat(Long.parseLong(one.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 5L);
        assertThat(one.body()).contains("too many requests").contains("flood").contains("retry after");
        // another tenant is not slowed by it
        assertThat(get("/api/v1/jobs/" + aliceJob, alice).statusCode()).isEqualTo(200);
        // and the flood is served again once the bucket has refilled
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> get("/api/v1/jobs", flood).statusCode() == 200);
    }

    @Test
    void unfinishedJobsPerTenantAreCapped() throws Exception {
        String carol = token("carol", Role.TENANT);
        String key = ObjectKeys.upload("carol", aliceKey.substring(aliceKey.lastIndexOf('/') + 1));
        for (int i = 0; i < 3; i++) {
            assertThat(call("POST", "/api/v1/jobs", carol, job(key, "carol " + i)).statusCode()).isEqualTo(201);
        }
        HttpResponse<String> fourth = call("POST", "/api/v1/jobs", carol, job(key, "carol 3"));
        assertThat(fourth.statusCode()).isEqualTo(429);
        assertThat(fourth.body()).contains("coordinator.max-active-jobs-per-tenant").contains("3 unfinished jobs");
        // a quote is still answered, and other tenants still submit
        assertThat(call("POST", "/api/v1/jobs?dry_run=true", carol, job(key, "quote")).statusCode()).isEqualTo(200);
        assertThat(call("POST", "/api/v1/jobs?dry_run=true", bob, job(bobKey, "bob")).statusCode()).isEqualTo(200);
        // ending one makes room
        String first = Json.mapper().readTree(get("/api/v1/jobs", carol).body()).get("jobs").get(0).get("job_id").asText();
        assertThat(call("POST", "/api/v1/jobs/" + first + "/cancel", carol, null).statusCode()).isEqualTo(202);
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> call("POST", "/api/v1/jobs", carol, job(key, "carol again")).statusCode() == 201);
    }

    // ---- bad job input ------------------------------------------------------------------------

    static Stream<Arguments> badJobs() {
        String k = "uploads/mallory/" + Sha256.of(new byte[] {(byte) 0x89, 'P', 'N', 'G', 4, 5, 6});
        String ok = "\"prompts\": [\"p\"], \"control_images\": [\"" + k + "\"], \"seeds\": [1]";
        String longText = "x".repeat(2001);
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            many.append(i == 0 ? "" : ",").append(i);
        }
        return Stream.of(
                Arguments.of("no body", "", "body"),
                Arguments.of("JSON null", "null", "body"),
                Arguments.of("an array", "[]", "body"),
                Arguments.of("broken JSON", "{\"prompts\": [", "prompts"),
                Arguments.of("unknown field", "{" + ok + ", \"bogus\": 1}", "bogus"),
                Arguments.of("no prompts", "{\"control_images\": [\"" + k + "\"]}", "prompts"),
                Arguments.of("empty prompts", "{\"prompts\": [], \"control_images\": [\"" + k + "\"]}", "prompts"),
                Arguments.of("blank prompt", "{\"prompts\": [\"\"], \"control_images\": [\"" + k + "\"]}", "prompts[0]"),
                Arguments.of("prompt too long", "{\"prompts\": [\"" + longText + "\"], \"control_images\": [\"" + k + "\"]}", "prompts[0]"),
                Arguments.of("prompts not a list", "{\"prompts\": \"p\", \"control_images\": [\"" + k + "\"]}", "prompts"),
                Arguments.of("a second ControlNet without control images", "{\"prompts\": [\"p\"], \"additional_controlnets\": [{\"image\": \""
                        + k + "\"}]}", "additional_controlnets"),
                Arguments.of("blank control image", "{\"prompts\": [\"p\"], \"control_images\": [\"\"]}", "control_images[0]"),
                Arguments.of("image never uploaded", "{\"prompts\": [\"p\"], \"control_images\": [\"uploads/mallory/" + "0".repeat(64) + "\"]}",
                        "control_images[0]"),
                Arguments.of("steps 0", "{" + ok + ", \"steps\": 0}", "steps"),
                Arguments.of("steps 151", "{" + ok + ", \"steps\": 151}", "steps"),
                Arguments.of("steps a word", "{" + ok + ", \"steps\": \"ten\"}", "steps"),
                Arguments.of("width too small", "{" + ok + ", \"width\": 32}", "width"),
                Arguments.of("width too large", "{" + ok + ", \"width\": 4096}", "width"),
                Arguments.of("height not a multiple of 8", "{" + ok + ", \"height\": 100}", "height"),
                Arguments.of("negative guidance", "{" + ok + ", \"guidance_scale\": -1}", "guidance_scale"),
                Arguments.of("guidance too high", "{" + ok + ", \"guidance_scale\": 31}", "guidance_scale"),
                Arguments.of("control scale too high", "{" + ok + ", \"control_scale\": 3}", "control_scale"),
                Arguments.of("control start past 1", "{" + ok + ", \"control_start\": 1.5}", "control_start"),
                Arguments.of("control end below 0", "{" + ok + ", \"control_end\": -0.1}", "control_end"),
                Arguments.of("eta past 1", "{" + ok + ", \"eta\": 2}", "eta"),
                Arguments.of("priority out of range", "{" + ok + ", \"priority\": 1000}", "priority"),
                Arguments.of("seed not a number", "{\"prompts\": [\"p\"], \"control_images\": [\"" + k + "\"], \"seeds\": [\"x\"]}", "seeds"),
                Arguments.of("matrix explosion", "{\"prompts\": [" + many.toString().replaceAll("(\\d+)", "\"$1\"") + "], \"control_images\": [\""
                        + k + "\"], \"seeds\": [" + many + "]}", "prompts"),
                Arguments.of("unknown scheduler", "{" + ok + ", \"scheduler\": \"nope\"}", "scheduler"),
                Arguments.of("unknown control mode", "{" + ok + ", \"control_mode\": \"sideways\"}", "control_mode"),
                Arguments.of("unknown preprocessor", "{" + ok + ", \"preprocessor\": \"nope\"}", "preprocessor"),
                Arguments.of("unknown resize mode", "{" + ok + ", \"resize_mode\": \"stretch\"}", "resize_mode"),
                Arguments.of("name too long", "{" + ok + ", \"name\": \"" + "n".repeat(201) + "\"}", "name"),
                Arguments.of("negative prompt too long", "{" + ok + ", \"negative_prompt\": \"" + longText + "\"}", "negative_prompt"),
                Arguments.of("rows and prompts together", "{" + ok + ", \"rows\": [{\"prompt\": \"p\", \"control_image\": \"" + k + "\"}]}", "prompts"),
                Arguments.of("row with a blank image", "{\"rows\": [{\"prompt\": \"p\", \"control_image\": \"\"}]}", "rows[0]"),
                Arguments.of("bad pool name", "{" + ok + ", \"pool\": \"Bad Pool!\"}", "pool"),
                Arguments.of("webhook not http", "{" + ok + ", \"webhook_url\": \"file:///etc/passwd\"}", "webhook_url"),
                Arguments.of("too many ControlNets", "{" + ok + ", \"additional_controlnets\": [{\"image\": \"" + k + "\"}, {\"image\": \"" + k
                        + "\"}, {\"image\": \"" + k + "\"}, {\"image\": \"" + k + "\"}]}", "additional_controlnets"),
                Arguments.of("model name with a path", "{" + ok + ", \"model\": \"../../etc\"}", "model"),
                Arguments.of("preprocessor parameter out of range", "{" + ok + ", \"preprocessor\": \"canny\", "
                        + "\"preprocessor_params\": {\"low_threshold\": -5}}", "preprocessor_params"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badJobs")
    void badJobInputIsRefusedNamingTheFieldWhileOtherTenantsAreServed(String what, String body, String field) throws Exception {
        String mallory = malloryToken();
        HttpResponse<String> r = call("POST", "/api/v1/jobs", mallory, body);
        assertThat(r.statusCode()).as(what + ": " + r.body()).isEqualTo(400);
        JsonNode answer = Json.mapper().readTree(r.body());
        assertThat(answer.get("error").asText()).as(what).isNotBlank();
        List<String> fields = new ArrayList<>();
        answer.get("fields").forEach(f -> fields.add(f.get("field").asText()));
        assertThat(fields).as(what + ": " + r.body()).anyMatch(f -> f.startsWith(field));
        answer.get("fields").forEach(f -> assertThat(f.get("message").asText()).as(what).isNotBlank());
        assertThat(get("/api/v1/jobs/" + aliceJob, alice).statusCode()).as("alice is served after: " + what).isEqualTo(200);
    }

    private String malloryToken;

    private synchronized String malloryToken() {
        if (malloryToken == null) {
            malloryToken = token("mallory", Role.TENANT);
        }
        return malloryToken;
    }

    // ---- secrets ------------------------------------------------------------------------------

    @Test
    void noTokenSecretOrStorageKeyIsWrittenToKafka() throws Exception {
        token("frank", Role.ADMIN);
        byte[] everything = readEveryTopic();
        assertThat(everything.length).isGreaterThan(1000);
        String text = new String(everything, StandardCharsets.ISO_8859_1);
        for (String t : List.copyOf(issued)) {
            assertThat(text).doesNotContain(t.substring(22)); // the secret part
        }
        assertThat(text).doesNotContain(config.s3().secretKey());
        assertThat(coordinator.tokens().list()).allMatch(t -> t.getSecretSha256().length() == 64);
    }

    private byte[] readEveryTopic() throws Exception {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        List<String> names;
        try (Admin admin = KafkaClients.admin(config.kafka())) {
            names = admin.listTopics().names().get(30, TimeUnit.SECONDS).stream().toList();
        }
        TopicReplay.readToEnd(config.kafka(), names, Duration.ofSeconds(30), rec -> {
            if (rec.key() != null) {
                all.writeBytes(rec.key().getBytes(StandardCharsets.UTF_8));
            }
            if (rec.value() != null) {
                all.writeBytes(rec.value());
            }
            rec.headers().forEach(h -> all.writeBytes(h.value() == null ? new byte[0] : h.value()));
        });
        return all.toByteArray();
    }

    // ---- helpers ------------------------------------------------------------------------------

    private int handshakeStatus(String url, String token) throws Exception {
        WebSocket.Builder b = http.newWebSocketBuilder();
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        try {
            b.buildAsync(URI.create(url), collector(new LinkedBlockingQueue<>())).get(10, TimeUnit.SECONDS).abort();
            return 101;
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(WebSocketHandshakeException.class);
            return ((WebSocketHandshakeException) e.getCause()).getResponse().statusCode();
        }
    }

    private static WebSocket.Listener collector(LinkedBlockingQueue<String> frames) {
        return new WebSocket.Listener() {
            private final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    frames.add(partial.toString());
                    partial.setLength(0);
                }
                ws.request(1);
                return null;
            }
        };
    }
}
