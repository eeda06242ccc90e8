package dev.cnfarm.common.config;

/** Where a configuration value came from, in increasing precedence. */
public enum ConfigSource {
    DEFAULT, FILE, ENVIRONMENT, FLAG
}
