package dev.cnfarm.common.config;

/** A resolved value and the source that set it. */
public record ConfigValue(String value, ConfigSource source) {}
