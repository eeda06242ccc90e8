package dev.cnfarm.common.config;

/** Coordinator HTTP server settings and job limits. */
public record CoordinatorSettings(String host, int port, int maxTasksPerJob, int webhookAttempts, long webhookBackoffMs) {}
