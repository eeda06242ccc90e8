package dev.cnfarm.coordinator.auth;

import dev.cnfarm.proto.v1.ApiToken;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every token the farm knows, as the compacted tokens topic has them (fed by the coordinator's
 * state feed, so a token created or revoked anywhere reaches every coordinator in well under a
 * second). Checks a presented token against the stored hash in constant time.
 */
public final class TokenRegistry {
    private final Map<String, ApiToken> byId = new ConcurrentHashMap<>();

    /** Applies one record of the tokens topic; a null value (tombstone) forgets the token. */
    public void apply(String tokenId, ApiToken token) {
        if (token == null) {
            byId.remove(tokenId);
        } else {
            byId.put(token.getTokenId(), token);
        }
    }

    /** The principal a token stands for, or empty when it is malformed, unknown or revoked (deliberately not saying which). */
    public Optional<Principal> authenticate(String presented) {
        Optional<TokenFormat.Parsed> parsed = TokenFormat.parse(presented);
        if (parsed.isEmpty()) {
            return Optional.empty();
        }
        ApiToken stored = byId.get(parsed.get().id());
        if (stored == null || stored.getRevokedAtMs() != 0) {
            return Optional.empty();
        }
        byte[] expected = stored.getSecretSha256().getBytes(StandardCharsets.US_ASCII);
        byte[] actual = TokenFormat.hash(parsed.get().secret()).getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(expected, actual)) {
            return Optional.empty();
        }
        return Optional.of(new Principal(stored.getTenant(), Role.of(stored.getRole()), stored.getTokenId()));
    }

    public Optional<ApiToken> get(String tokenId) {
        return Optional.ofNullable(byId.get(tokenId));
    }

    /** Every token, oldest first. */
    public List<ApiToken> list() {
        return byId.values().stream().sorted(Comparator.comparingLong(ApiToken::getCreatedAtMs)).toList();
    }

    public int size() {
        return byId.size();
    }
}
