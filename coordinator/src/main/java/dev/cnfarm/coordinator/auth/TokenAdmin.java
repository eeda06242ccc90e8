package dev.cnfarm.coordinator.auth;

import dev.cnfarm.common.config.KafkaSettings;
import dev.cnfarm.common.kafka.KafkaClients;
import dev.cnfarm.common.kafka.ProtoCodec;
import dev.cnfarm.common.kafka.TopicReplay;
import dev.cnfarm.common.kafka.TopicSetup;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.proto.v1.ApiToken;
import dev.cnfarm.proto.v1.SchemaVersion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Creates, revokes and lists API tokens by writing to and reading the compacted tokens topic.
 * Whoever holds the farm's Kafka credentials is its operator, so the admin CLI works here
 * directly, without a token of its own: that is how the first token of a farm is made.
 * Coordinators pick up every change through their state feed.
 */
public final class TokenAdmin implements AutoCloseable {
    /** What a tenant name may be: it becomes part of object keys and appears in metrics. */
    public static final Pattern TENANT_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,39}");
    public static final int MAX_NAME_CHARS = 100;

    private final KafkaSettings kafka;
    private final Topics topics;
    private final KafkaProducer<String, byte[]> producer;

    public TokenAdmin(KafkaSettings kafka, Topics topics) {
        this.kafka = kafka;
        this.topics = topics;
        this.producer = KafkaClients.producer(kafka, "token-admin-" + ProcessHandle.current().pid());
    }

    /** A token just made: the record as stored, and the one string to hand to its user (shown once, never stored). */
    public record Issued(ApiToken record, String token) {
        @Override
        public String toString() {
            return "Issued[" + record.getTokenId() + " for " + record.getTenant() + "]";
        }
    }

    /** Thrown for a tenant, role or name that cannot be used; the message names the field. */
    public static final class InvalidTokenRequest extends IllegalArgumentException {
        private final String field;

        public InvalidTokenRequest(String field, String message) {
            super(field + ": " + message);
            this.field = field;
        }

        public String field() {
            return field;
        }
    }

    /** Thrown by {@link #revoke} for a token id the farm does not know. */
    public static final class UnknownTokenException extends RuntimeException {
        public UnknownTokenException(String id) {
            super("no token with id '" + id + "'; `farm tokens list` shows the ids");
        }
    }

    /**
     * Creates the farm's topics if they are missing and one token: how a farm gets its first
     * token before any coordinator has run (tests, benchmarks and scripted set-ups).
     */
    public static Issued createOnce(KafkaSettings kafka, Topics topics, String tenant, Role role, String name) {
        try (TokenAdmin tokens = open(kafka, topics)) {
            return tokens.create(tenant, role, name);
        }
    }

    /** A token admin for a farm whose topics may not exist yet (no coordinator has run): they are created first. */
    public static TokenAdmin open(KafkaSettings kafka, Topics topics) {
        try (Admin admin = KafkaClients.admin(kafka)) {
            TopicSetup.awaitBroker(admin, kafka, Duration.ofSeconds(30));
            TopicSetup.ensure(admin, topics, kafka);
        }
        return new TokenAdmin(kafka, topics);
    }

    public Issued create(String tenant, Role role, String name) {
        if (tenant == null || !TENANT_NAME.matcher(tenant).matches()) {
            throw new InvalidTokenRequest("tenant", "must be 1 to 40 lowercase letters, digits or '-', starting with a letter "
                    + "or digit, got '" + tenant + "'");
        }
        String label = name == null ? "" : name.strip();
        if (label.length() > MAX_NAME_CHARS || label.chars().anyMatch(Character::isISOControl)) {
            throw new InvalidTokenRequest("name", "must be at most " + MAX_NAME_CHARS + " characters without control characters");
        }
        TokenFormat.Fresh fresh = TokenFormat.generate();
        ApiToken record = ApiToken.newBuilder()
                .setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE)
                .setTokenId(fresh.id())
                .setTenant(tenant)
                .setRole(role.toProto())
                .setSecretSha256(fresh.secretSha256())
                .setName(label)
                .setCreatedAtMs(System.currentTimeMillis())
                .build();
        write(record);
        return new Issued(record, fresh.token());
    }

    /** Revokes a token by id; coordinators refuse it as soon as their feed has read the change. */
    public ApiToken revoke(String tokenId) {
        ApiToken current = list().stream().filter(t -> t.getTokenId().equals(tokenId)).findFirst()
                .orElseThrow(() -> new UnknownTokenException(tokenId));
        return revoke(current);
    }

    /** Revokes a token whose record the caller holds already (a coordinator's registry). */
    public ApiToken revoke(ApiToken current) {
        if (current.getRevokedAtMs() != 0) {
            return current;
        }
        ApiToken revoked = current.toBuilder().setRevokedAtMs(System.currentTimeMillis()).build();
        write(revoked);
        return revoked;
    }

    /** Every token record on the topic, oldest first (revoked ones included, marked). */
    public List<ApiToken> list() {
        Map<String, ApiToken> latest = new LinkedHashMap<>();
        TopicReplay.readToEnd(kafka, List.of(topics.tokens()), Duration.ofSeconds(60), r -> {
            if (r.value() == null) {
                latest.remove(r.key());
            } else {
                ProtoCodec.parse(ApiToken.parser(), r.value(), r.topic(), r.offset()).ifPresent(t -> latest.put(t.getTokenId(), t));
            }
        });
        List<ApiToken> out = new ArrayList<>(latest.values());
        out.sort(Comparator.comparingLong(ApiToken::getCreatedAtMs));
        return out;
    }

    private void write(ApiToken record) {
        try {
            producer.send(new ProducerRecord<>(topics.tokens(), record.getTokenId(), record.toByteArray())).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while storing token " + record.getTokenId(), e);
        } catch (Exception e) {
            throw new IllegalStateException("token " + record.getTokenId() + " could not be stored in Kafka (" + topics.tokens()
                    + "): " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
