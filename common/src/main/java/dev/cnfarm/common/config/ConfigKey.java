package dev.cnfarm.common.config;

import java.util.Locale;

/**
 * One configuration setting. The same dotted name is used in config files ({@code kafka.bootstrap-servers}),
 * in flags ({@code --set kafka.bootstrap-servers=...}) and, upper-cased with {@code FARM_} in front and
 * dots and dashes turned into underscores, in the environment ({@code FARM_KAFKA_BOOTSTRAP_SERVERS}).
 *
 * @param name          dotted key
 * @param defaultValue  value when no source sets it, or null when it has no default
 * @param description   one line for {@code farm config}
 * @param secret        never printed or logged
 */
public record ConfigKey(String name, String defaultValue, String description, boolean secret) {

    /** The environment variable that sets this key. */
    public String envName() {
        return envNameOf(name);
    }

    static String envNameOf(String dottedName) {
        return "FARM_" + dottedName.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }
}
