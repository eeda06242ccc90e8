package dev.cnfarm.coordinator.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cnfarm.proto.v1.ApiToken;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TokenRegistryTest {
    private static ApiToken record(TokenFormat.Fresh f, String tenant, Role role) {
        return ApiToken.newBuilder().setTokenId(f.id()).setTenant(tenant).setRole(role.toProto()).setSecretSha256(f.secretSha256())
                .setCreatedAtMs(1).build();
    }

    @Test
    void aTokenStandsForItsTenantAndRoleUntilRevokedOrForgotten() {
        TokenRegistry registry = new TokenRegistry();
        TokenFormat.Fresh f = TokenFormat.generate();
        assertThat(registry.authenticate(f.token())).isEmpty();
        registry.apply(f.id(), record(f, "studio", Role.ADMIN));
        assertThat(registry.authenticate(f.token())).contains(new Principal("studio", Role.ADMIN, f.id()));
        assertThat(registry.authenticate(" " + f.token() + " ")).as("surrounding blanks from a pasted token").isPresent();
        registry.apply(f.id(), record(f, "studio", Role.ADMIN).toBuilder().setRevokedAtMs(2).build());
        assertThat(registry.authenticate(f.token())).isEmpty();
        registry.apply(f.id(), record(f, "studio", Role.ADMIN));
        registry.apply(f.id(), null); // a tombstone on the compacted topic
        assertThat(registry.authenticate(f.token())).isEmpty();
    }

    @Test
    void theRightIdWithAnotherSecretIsRefused() {
        TokenRegistry registry = new TokenRegistry();
        TokenFormat.Fresh f = TokenFormat.generate();
        TokenFormat.Fresh other = TokenFormat.generate();
        registry.apply(f.id(), record(f, "a", Role.TENANT));
        String forged = "farm_" + f.id() + "_" + other.token().substring(22);
        assertThat(TokenFormat.parse(forged)).isPresent();
        assertThat(registry.authenticate(forged)).isEmpty();
    }

    @Test
    void tokensAreUniqueWellFormedAndOnlyTheirHashIsKept() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            TokenFormat.Fresh f = TokenFormat.generate();
            assertThat(seen.add(f.token())).isTrue();
            TokenFormat.Parsed p = TokenFormat.parse(f.token()).orElseThrow();
            assertThat(p.id()).isEqualTo(f.id());
            assertThat(f.secretSha256()).hasSize(64).isEqualTo(TokenFormat.hash(p.secret())).doesNotContain(p.secret());
            assertThat(f.toString()).doesNotContain(p.secret());
            assertThat(p.toString()).doesNotContain(p.secret());
        }
        for (String bad : new String[] {null, "", "farm_", "farm_XYZ_abc", "bearer farm_0123456789abcdef_" + "a".repeat(43),
                "farm_0123456789abcdef_" + "a".repeat(42), "farm_0123456789abcdef_" + "a".repeat(42) + "!"}) {
            assertThat(TokenFormat.parse(bad)).as(String.valueOf(bad)).isEmpty();
        }
    }

    @Test
    void aPrincipalReachesItsOwnTenantOnlyUnlessAdmin() {
        assertThat(new Principal("a", Role.TENANT, "x").mayAccess("a")).isTrue();
        assertThat(new Principal("a", Role.TENANT, "x").mayAccess("b")).isFalse();
        assertThat(new Principal("a", Role.ADMIN, "x").mayAccess("b")).isTrue();
    }
}
