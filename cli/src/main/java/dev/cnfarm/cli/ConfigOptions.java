package dev.cnfarm.cli;

import dev.cnfarm.common.config.ConfigLoader;
import dev.cnfarm.common.config.FarmConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The configuration options every command takes: a config file and {@code --set key=value}
 * overrides, layered over the environment ({@code FARM_*}) and the defaults. The keys are the
 * same in all three places; `farm config` lists them. Without a config file, a farm that
 * {@code farm up} runs on this machine is found by itself ({@link RunningFarmFile}).
 */
public final class ConfigOptions {
    @Option(names = "--config", paramLabel = "FILE", description = "YAML config file (default: $FARM_CONFIG, if set)")
    Path configFile;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override one setting, e.g. --set kafka.bootstrap-servers=host:9092")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Option(names = "--api", paramLabel = "URL", description = "coordinator URL (setting api.url)")
    String apiUrl;

    public FarmConfig load() {
        Map<String, String> flags = new LinkedHashMap<>(overrides);
        if (apiUrl != null) {
            flags.put("api.url", apiUrl);
        }
        java.util.Map<String, String> env = System.getenv();
        Path file = configFile;
        if (file == null && (env.get("FARM_CONFIG") == null || env.get("FARM_CONFIG").isBlank())) {
            Path local = ConfigLoader.load(null, env, flags).dataDir().resolve("local");
            file = dev.cnfarm.cli.local.RunningFarmFile.live(dev.cnfarm.cli.local.RunningFarmFile.in(local)).orElse(null);
        }
        return ConfigLoader.load(file, env, flags);
    }
}
