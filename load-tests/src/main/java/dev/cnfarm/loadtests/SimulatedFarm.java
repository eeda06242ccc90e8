package dev.cnfarm.loadtests;

import dev.cnfarm.cli.client.FarmClient;
import dev.cnfarm.common.config.ConfigKeys;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.embedded.LocalInfrastructure;
import dev.cnfarm.common.storage.MinioObjectStore;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.Sha256;
import dev.cnfarm.coordinator.CoordinatorService;
import dev.cnfarm.coordinator.auth.Role;
import dev.cnfarm.worker.WorkerService;
import dev.cnfarm.worker.render.RendererRegistry;
import dev.cnfarm.worker.render.SimulatedRenderer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A whole farm in this JVM for load tests and benchmarks: embedded broker and S3 server, the
 * coordinator, and simulated GPU workers ({@link SimulatedRenderer}). Closing stops the workers
 * first, then the coordinator, then the infrastructure, since workers wait on the broker and S3.
 */
public final class SimulatedFarm implements AutoCloseable {
    private final LocalInfrastructure infra;
    private final List<WorkerService> workers = new ArrayList<>();
    private CoordinatorService coordinator;
    private String token;

    private SimulatedFarm(LocalInfrastructure infra) {
        this.infra = infra;
    }

    /** Starts the infrastructure, the coordinator and {@code workerCount} workers named {@code prefix-N}. */
    public static SimulatedFarm start(FarmConfig base, Path dataDir, int workerCount, long msPerStep, String prefix) {
        SimulatedFarm farm = new SimulatedFarm(LocalInfrastructure.start(base, dataDir, 0, 0, Map.of()));
        try {
            farm.coordinator = CoordinatorService.start(farm.config());
            farm.token = farm.coordinator.issueToken("default", Role.TENANT, "simulated farm");
            for (int i = 0; i < workerCount; i++) {
                farm.workers.add(WorkerService.start(farm.config().with(ConfigKeys.WORKER_ID, prefix + "-" + i),
                        RendererRegistry.simulated(msPerStep)));
            }
            return farm;
        } catch (RuntimeException e) {
            farm.close();
            throw e;
        }
    }

    public FarmConfig config() {
        return infra.config();
    }

    public CoordinatorService coordinator() {
        return coordinator;
    }

    public String url() {
        return coordinator.url(config());
    }

    public FarmClient client() {
        return new FarmClient(url(), token);
    }

    /** The API token of the tenant {@code default} that {@link #client()} sends; it outlives coordinator restarts (it is on Kafka). */
    public String token() {
        return token;
    }

    /** Stores bytes as an upload of the default tenant (as a client's upload would) and returns the key. */
    public String upload(byte[] bytes) {
        try (ObjectStore store = new MinioObjectStore(config().s3())) {
            return store.put(ObjectKeys.upload("default", Sha256.of(bytes)), bytes, "image/png").key();
        }
    }

    /** Stops the workers (they would otherwise go on taking tasks). */
    public void stopWorkers() {
        workers.forEach(WorkerService::close);
        workers.clear();
    }

    /** Stops the coordinator and starts a new one on the same topics; returns how long the new one took to be ready, in ms. */
    public long restartCoordinator() {
        coordinator.close();
        coordinator = null;
        long t0 = System.nanoTime();
        coordinator = CoordinatorService.start(config());
        return (System.nanoTime() - t0) / 1_000_000;
    }

    /**
     * A job of {@code tasks} one-step images on the simulated model, as prompts x seeds (a job's seeds
     * are capped at 10,000); the count is rounded down to a multiple of the prompts needed.
     */
    public static String matrixJob(String name, String control, int tasks, int priority) {
        int prompts = Math.max(1, (tasks + 9_999) / 10_000);
        StringBuilder p = new StringBuilder();
        for (int i = 0; i < prompts; i++) {
            p.append(i == 0 ? "" : ",").append('"').append(name).append(' ').append(i).append('"');
        }
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < tasks / prompts; i++) {
            s.append(i == 0 ? "" : ",").append(i);
        }
        return """
                {"name": "%s", "prompts": [%s], "control_images": ["%s"], "seeds": [%s], "steps": 1, "width": 64, "height": 64,
                 "model": "%s", "priority": %d}
                """.formatted(name, p, control, s, SimulatedRenderer.MODEL_ID, priority);
    }

    /** The task count {@link #matrixJob} makes for a requested count. */
    public static int matrixTasks(int tasks) {
        int prompts = Math.max(1, (tasks + 9_999) / 10_000);
        return prompts * (tasks / prompts);
    }

    @Override
    public void close() {
        stopWorkers();
        if (coordinator != null) {
            coordinator.close();
        }
        infra.close();
    }
}
