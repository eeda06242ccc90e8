package dev.cnfarm.cli.local;

import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.embedded.LocalInfrastructure;
import dev.cnfarm.coordinator.CoordinatorService;
import dev.cnfarm.coordinator.auth.Principal;
import dev.cnfarm.coordinator.auth.Role;
import dev.cnfarm.worker.WorkerService;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The whole farm in one JVM: embedded Kafka and S3, the coordinator and CPU workers, wired through
 * the same Kafka topics and S3 bucket as separate processes would be.
 */
public final class LocalFarm implements AutoCloseable {
    private final LocalInfrastructure infra;
    private final CoordinatorService coordinator;
    private final List<WorkerService> workers;
    private final FarmConfig config;
    private final long startMillis;

    private LocalFarm(LocalInfrastructure infra, CoordinatorService coordinator, List<WorkerService> workers, FarmConfig config,
                      long startMillis) {
        this.infra = infra;
        this.coordinator = coordinator;
        this.workers = workers;
        this.config = config;
        this.startMillis = startMillis;
    }

    /**
     * @param dataDir  Kafka log, S3 objects and model cache live here
     * @param workers  number of CPU workers
     */
    public static LocalFarm start(FarmConfig base, Path dataDir, int workers, int kafkaPort, int s3Port) {
        long t0 = System.nanoTime();
        LocalInfrastructure infra = LocalInfrastructure.start(base, dataDir, kafkaPort, s3Port, Map.of());
        CoordinatorService coordinator = null;
        List<WorkerService> started = new ArrayList<>();
        try {
            coordinator = CoordinatorService.start(infra.config());
            FarmConfig config = infra.config().with(ConfigKeys.API_URL, coordinator.url(infra.config()));
            if (config.coordinator().requireTokens()) {
                // the person who started the farm owns it: an admin token of the default tenant
                config = config.with(ConfigKeys.API_TOKEN, coordinator.issueToken(Principal.DEFAULT_TENANT, Role.ADMIN, "local mode"));
            }
            for (int i = 1; i <= workers; i++) {
                started.add(WorkerService.start(config.with(ConfigKeys.WORKER_ID, "local-worker-" + i)));
            }
            return new LocalFarm(infra, coordinator, started, config, (System.nanoTime() - t0) / 1_000_000);
        } catch (RuntimeException e) {
            started.forEach(WorkerService::close);
            if (coordinator != null) {
                coordinator.close();
            }
            infra.close();
            throw e;
        }
    }

    /** The token local mode made for whoever started it (empty with coordinator.auth=off). */
    public String apiToken() {
        return config.apiToken();
    }

    /** The coordinator, for tests that make more tokens or look at its state. */
    public CoordinatorService coordinator() {
        return coordinator;
    }

    /** The dashboard's address; with a token, the page signs itself in from the link's fragment (never sent to a server). */
    public String dashboardLink() {
        return apiUrl() + "/dashboard/" + (apiToken().isEmpty() ? "" : "#token=" + apiToken());
    }

    /** The configuration pointing at this farm (api.url and api.token included). */
    public FarmConfig config() {
        return config;
    }

    public String apiUrl() {
        return config.apiUrl();
    }

    public int workerCount() {
        return workers.size();
    }

    /** Milliseconds from {@link #start} until everything was ready. */
    public long startMillis() {
        return startMillis;
    }

    public LocalInfrastructure infrastructure() {
        return infra;
    }

    @Override
    public void close() {
        workers.forEach(WorkerService::close);
        coordinator.close();
        infra.close();
    }
}
