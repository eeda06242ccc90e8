package dev.cnfarm.coordinator.auth;

import dev.cnfarm.proto.v1.TokenRole;

/** What a token may do: a tenant's own work only, or (admin) every tenant's jobs and the tokens themselves. */
public enum Role {
    TENANT, ADMIN;

    public TokenRole toProto() {
        return this == ADMIN ? TokenRole.TOKEN_ROLE_ADMIN : TokenRole.TOKEN_ROLE_TENANT;
    }

    public static Role of(TokenRole role) {
        return role == TokenRole.TOKEN_ROLE_ADMIN ? ADMIN : TENANT;
    }

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
