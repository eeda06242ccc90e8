package dev.cnfarm.coordinator.auth;

import dev.cnfarm.common.storage.Sha256;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shape of an API token: {@code farm_<id>_<secret>}, a 16-hex-digit public id (the record
 * key, safe to log and to name in {@code farm tokens revoke}) and 32 random bytes of secret in
 * base64url. Only the secret's sha256 is stored: with 256 random bits a fast hash is enough, as
 * nobody can guess inputs to it (a password hash such as bcrypt is for low-entropy secrets, and
 * would cost tens of milliseconds on every request).
 */
public final class TokenFormat {
    public static final String PREFIX = "farm_";
    private static final Pattern SHAPE = Pattern.compile("farm_([0-9a-f]{16})_([A-Za-z0-9_-]{43})");
    private static final SecureRandom RANDOM = new SecureRandom();

    private TokenFormat() {}

    /** A token as the client holds it, split into its parts. */
    public record Parsed(String id, String secret) {
        @Override
        public String toString() {
            return "Token[id=" + id + ", secret=********]";
        }
    }

    /** A freshly made token: the whole string to give the user once, and what to store. */
    public record Fresh(String id, String token, String secretSha256) {
        @Override
        public String toString() {
            return "FreshToken[id=" + id + "]";
        }
    }

    public static Fresh generate() {
        byte[] id = new byte[8];
        byte[] secret = new byte[32];
        RANDOM.nextBytes(id);
        RANDOM.nextBytes(secret);
        String idHex = HexFormat.of().formatHex(id);
        String secretText = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        return new Fresh(idHex, PREFIX + idHex + "_" + secretText, hash(secretText));
    }

    public static Optional<Parsed> parse(String token) {
        if (token == null) {
            return Optional.empty();
        }
        Matcher m = SHAPE.matcher(token.trim());
        return m.matches() ? Optional.of(new Parsed(m.group(1), m.group(2))) : Optional.empty();
    }

    public static String hash(String secret) {
        return Sha256.of(secret.getBytes(StandardCharsets.US_ASCII));
    }
}
