package dev.cnfarm.common.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves configuration from defaults, a YAML file, the environment and flags, in that order of
 * precedence. All sources use the keys of {@link ConfigKeys}; unknown keys in a file or a flag are
 * refused with the key's name, since a misspelt key would otherwise be ignored silently.
 */
public final class ConfigLoader {
    /** Environment variable naming a config file when no {@code --config} flag is given. */
    public static final String CONFIG_FILE_ENV = "FARM_CONFIG";
    /** A secret setting's variable with this suffix names a file holding the secret: {@code FARM_S3_SECRET_KEY_FILE}. */
    public static final String SECRET_FILE_SUFFIX = "_FILE";

    private static final Logger LOG = LoggerFactory.getLogger(ConfigLoader.class);

    private ConfigLoader() {}

    /**
     * @param file  YAML file (nested sections or flat dotted keys), or null for none
     * @param env   the process environment (only {@code FARM_*} variables are read)
     * @param flags {@code key=value} overrides from the command line
     */
    public static FarmConfig load(Path file, Map<String, String> env, Map<String, String> flags) {
        Map<String, ConfigValue> values = new LinkedHashMap<>();
        for (ConfigKey k : ConfigKeys.ALL) {
            values.put(k.name(), new ConfigValue(k.defaultValue(), ConfigSource.DEFAULT));
        }
        Path configFile = file;
        if (configFile == null && env.get(CONFIG_FILE_ENV) != null && !env.get(CONFIG_FILE_ENV).isBlank()) {
            configFile = Path.of(env.get(CONFIG_FILE_ENV));
        }
        if (configFile != null) {
            readFile(configFile).forEach((k, v) -> values.put(k, new ConfigValue(v, ConfigSource.FILE)));
        }
        for (ConfigKey k : ConfigKeys.ALL) {
            String v = env.get(k.envName());
            if (v != null) {
                values.put(k.name(), new ConfigValue(v, ConfigSource.ENVIRONMENT));
            }
            String secretFile = k.secret() ? env.get(k.envName() + SECRET_FILE_SUFFIX) : null;
            if (secretFile != null && !secretFile.isBlank()) {
                if (v != null) {
                    throw new ConfigException("both " + k.envName() + " and " + k.envName() + SECRET_FILE_SUFFIX
                            + " are set; set only one of them");
                }
                values.put(k.name(), new ConfigValue(readSecretFile(k, Path.of(secretFile)), ConfigSource.ENVIRONMENT));
            }
        }
        for (String name : env.keySet()) {
            if (name.startsWith("FARM_") && !name.equals(CONFIG_FILE_ENV) && !isKnownEnv(name)) {
                // Other tools may share the prefix, so this is a warning, not an error.
                LOG.warn("environment variable {} is not a farm setting; known ones are listed by `farm config`", name);
            }
        }
        flags.forEach((k, v) -> {
            requireKnown(k, "flag --set " + k + "=...");
            values.put(k, new ConfigValue(v, ConfigSource.FLAG));
        });
        return new FarmConfig(values);
    }

    /** Defaults only, plus the given overrides (used by tests and the embedded local mode). */
    public static FarmConfig defaults(Map<String, String> overrides) {
        return load(null, Map.of(), overrides);
    }

    private static boolean isKnownEnv(String name) {
        return ConfigKeys.ALL.stream().anyMatch(k -> k.envName().equals(name)
                || k.secret() && (k.envName() + SECRET_FILE_SUFFIX).equals(name));
    }

    /**
     * A secret read from a file (a mounted Kubernetes or Docker secret): the file's text without
     * the trailing line break editors add. The message never quotes the file's content.
     */
    private static String readSecretFile(ConfigKey key, Path file) {
        try {
            String text = Files.readString(file);
            return text.endsWith("\r\n") ? text.substring(0, text.length() - 2)
                    : text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
        } catch (IOException e) {
            throw new ConfigException(key.envName() + SECRET_FILE_SUFFIX + " names " + file + ", which cannot be read ("
                    + e.getClass().getSimpleName() + "); mount the secret there or unset the variable");
        }
    }

    static void requireKnown(String key, String where) {
        if (ConfigKeys.byName(key).isEmpty()) {
            throw new ConfigException("unknown setting '" + key + "' in " + where
                    + "; run `farm config` to list the known settings");
        }
    }

    private static Map<String, String> readFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ConfigException("config file " + file + " does not exist; pass an existing file with --config "
                    + "or unset " + CONFIG_FILE_ENV);
        }
        JsonNode root;
        try {
            root = Json.yaml().readTree(file.toFile());
        } catch (IOException e) {
            throw new ConfigException("config file " + file + " is not valid YAML: " + e.getMessage());
        }
        Map<String, String> flat = new LinkedHashMap<>();
        if (root != null && !root.isNull()) {
            if (!root.isObject()) {
                throw new ConfigException("config file " + file + " must hold a mapping of settings, like `kafka: {bootstrap-servers: ...}`");
            }
            flatten("", root, flat, file);
        }
        return flat;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out, Path file) {
        Iterator<Map.Entry<String, JsonNode>> it = node.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            JsonNode v = e.getValue();
            if (v.isObject() && ConfigKeys.byName(key).isEmpty()) {
                flatten(key, v, out, file);
            } else if (v.isValueNode()) {
                requireKnown(key, "config file " + file);
                out.put(key, v.isNull() ? "" : v.asText());
            } else {
                throw new ConfigException("setting '" + key + "' in config file " + file + " must be a single value, not a list or mapping");
            }
        }
    }
}
