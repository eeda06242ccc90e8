package dev.cnfarm.coordinator.auth;

/**
 * Who a request acts for, from its token: the tenant whose jobs, uploads and outputs it may touch,
 * and its role.
 *
 * @param tokenId the public part of the token, for logs (never the secret)
 */
public record Principal(String tenant, Role role, String tokenId) {
    /** The tenant every call acts for when the coordinator runs with {@code coordinator.auth=off}. */
    public static final String DEFAULT_TENANT = "default";

    public static Principal unauthenticatedDefault() {
        return new Principal(DEFAULT_TENANT, Role.TENANT, "-");
    }

    public boolean isAdmin() {
        return role == Role.ADMIN;
    }

    /** Whether a job, upload or output of {@code owner} is visible to this principal. */
    public boolean mayAccess(String owner) {
        return isAdmin() || tenant.equals(owner);
    }
}
