package dev.cnfarm.common.config;

/**
 * Coordinator HTTP server settings, job limits and the API's protection.
 *
 * @param requireTokens        false only with {@code coordinator.auth=off}: every call acts for tenant {@code default}
 * @param rateLimitPerSecond   API calls per second per tenant on one coordinator; 0 for no limit
 * @param maxActiveJobsPerTenant unfinished jobs one tenant may have at once
 */
public record CoordinatorSettings(String host, int port, int maxTasksPerJob, int webhookAttempts, long webhookBackoffMs,
                                  boolean requireTokens, int rateLimitPerSecond, int rateLimitBurst, int maxActiveJobsPerTenant,
                                  long maxUploadBytes) {}
