package dev.cnfarm.cli.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cnfarm.common.json.Json;
import dev.cnfarm.common.storage.Archives;
import dev.cnfarm.common.storage.ObjectInfo;
import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.common.storage.ObjectNotFoundException;
import dev.cnfarm.common.storage.ObjectStore;
import dev.cnfarm.common.storage.StorageUnavailableException;
import dev.cnfarm.common.training.ControlNetJob;
import dev.cnfarm.models.arch.ModelPreset;
import dev.cnfarm.proto.v1.FailureCause;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.RenderTask;
import dev.cnfarm.proto.v1.TaskResult;
import dev.cnfarm.proto.v1.Timings;
import dev.cnfarm.trainer.controlnet.ControlNetRun;
import dev.cnfarm.trainer.train.SampleGrid;
import dev.cnfarm.trainer.train.TrainingListener;
import dev.cnfarm.worker.tasks.TaskOutcome;
import dev.cnfarm.worker.tasks.TaskProcessor;
import dev.cnfarm.worker.tasks.TaskRunner;
import dev.cnfarm.worker.tasks.TaskStoppedException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs ControlNet training tasks: the data set archive the job names is fetched and unpacked, the
 * base model found among the trainer's folders, and the run made on libtorch with each step's loss
 * reported as progress. Every checkpoint is kept in S3 beside the job's outputs, so a trainer that
 * takes the task again (the first was killed, or drained) resumes from it. The ControlNet, its loss
 * curve and summary are the job's outputs; the result names the ControlNet.
 */
public final class ControlNetTrainingTasks implements TaskRunner {
    private static final Logger LOG = LoggerFactory.getLogger(ControlNetTrainingTasks.class);
    public static final String CHECKPOINT = "checkpoint.zip";
    /** Where a job's sample grids go among its outputs. */
    public static final String SAMPLES = "samples/";

    private final ObjectStore store;
    private final Path workRoot;
    /** Tells the render workers of a model trained here (the models topic). */
    private final java.util.function.Consumer<dev.cnfarm.proto.v1.PublishedModel> publisher;
    /** Base model id to its folder. */
    private final Map<String, Path> bases;

    /**
     * @param baseFolders trained model folders (model.json, safetensors, tokenizer) the trainer may
     *                    train on, each known by the name in its model.json
     */
    public ControlNetTrainingTasks(ObjectStore store, Path workRoot, List<Path> baseFolders,
                                   java.util.function.Consumer<dev.cnfarm.proto.v1.PublishedModel> publisher) {
        this.store = store;
        this.workRoot = workRoot;
        this.publisher = publisher;
        this.bases = new TreeMap<>();
        for (Path f : baseFolders) {
            Path json = f.resolve("model.json");
            if (!Files.isRegularFile(json)) {
                throw new IllegalArgumentException("setting 'worker.models' names " + f + ", which has no model.json: a trainer needs "
                        + "trained model folders (as farm train base writes them) to train ControlNets on");
            }
            bases.put(ModelPreset.read(json).name(), f);
        }
    }

    @Override
    public List<TaskOutcome> processBatch(List<TaskProcessor.Attempt> attempts) {
        List<TaskOutcome> out = new ArrayList<>();
        for (TaskProcessor.Attempt a : attempts) {
            out.add(run(a));
        }
        return out;
    }

    private TaskOutcome run(TaskProcessor.Attempt a) {
        RenderTask task = a.task();
        try {
            if (task.getTrainControlnetJson().isEmpty()) {
                return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_BAD_INPUT, "a trainer takes training jobs only; task "
                        + task.getTaskId() + " is a render task (is a render job in the train pool?)", false, true);
            }
            ControlNetJob job = ControlNetJob.parse(Json.mapper().readTree(task.getTrainControlnetJson()));
            Path base = bases.get(job.base());
            if (base == null) {
                return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_MODEL_ERROR, "this trainer has no base model '" + job.base()
                        + "'; it has " + bases.keySet() + " (worker.models)", true);
            }
            long t0 = System.nanoTime();
            Path work = workRoot.resolve(task.getJobId());
            Path data = work.resolve("data");
            DatasetFetch.fetch(store, job.dataset(), task.getTenant(), data);
            String prefix = ObjectKeys.outputPrefix(task.getTenant(), task.getJobId());
            Path run = work.resolve("run");
            Path checkpoint = ControlNetRun.checkpointDir(run);
            if (!Files.exists(checkpoint)) {
                // another trainer ran this job before: go on from its last complete checkpoint
                try {
                    Archives.unzip(store.get(prefix + CHECKPOINT), checkpoint);
                    LOG.info("job {}: resuming from the checkpoint in {}", task.getJobId(), prefix + CHECKPOINT);
                } catch (ObjectNotFoundException none) {
                    // a first run
                }
            }
            long fetchMs = (System.nanoTime() - t0) / 1_000_000;
            ControlNetRun.Config config = ControlNetRun.Config.of(job, data.resolve("manifest.csv"), base, run);
            // a drained trainer checkpoints the step it stops at, so the next one loses nothing; a fenced one must
            // not (another trainer holds the task and writes the checkpoints now), a cancelled one need not
            ControlNetRun.Summary summary = ControlNetRun.run(config, progress(a, prefix), folder ->
                    store.put(prefix + CHECKPOINT, Archives.zip(folder), "application/zip"),
                    e -> e instanceof TaskStoppedException s && !s.cancelled() && !s.fenced());
            long t2 = System.nanoTime();
            ObjectInfo cn = store.put(prefix + job.name() + ".safetensors",
                    Files.readAllBytes(config.workDir().resolve(ControlNetRun.CONTROLNET_FILE)), "application/octet-stream");
            store.put(prefix + "loss-controlnet.png", Files.readAllBytes(config.workDir().resolve("loss-controlnet.png")), "image/png");
            Path fidelity = config.workDir().resolve(ControlNetRun.FIDELITY_CHART);
            if (Files.isRegularFile(fidelity)) {
                store.put(prefix + ControlNetRun.FIDELITY_CHART, Files.readAllBytes(fidelity), "image/png");
            }
            store.put(prefix + "summary.json", Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(summary), "application/json");
            // the base with its new ControlNet, as a bundle every render worker fetches and serves under the job's name
            ObjectInfo bundle = store.put(prefix + job.name() + "-bundle.zip", Archives.zip(config.workDir().resolve("bundle")),
                    "application/zip");
            publisher.accept(dev.cnfarm.proto.v1.PublishedModel.newBuilder()
                    .setSchemaVersion(dev.cnfarm.proto.v1.SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE).setModelId(job.name())
                    .setBundle(ObjectRef.newBuilder().setKey(bundle.key()).setSha256(bundle.sha256()).setSizeBytes(bundle.sizeBytes()))
                    .setBase(job.base()).setCondition(job.condition()).setJobId(task.getJobId()).setTenant(task.getTenant())
                    .setAtMs(System.currentTimeMillis()).build());
            LOG.info("job {}: ControlNet {} trained ({} steps, final loss {}), published as {}", task.getJobId(), job.name(),
                    summary.steps(), summary.finalLoss(), cn.key());
            return new TaskOutcome.Succeeded(TaskResult.newBuilder()
                    .setOutput(ObjectRef.newBuilder().setKey(cn.key()).setSha256(cn.sha256()).setSizeBytes(cn.sizeBytes()))
                    .setTimings(Timings.newBuilder().setFetchMs(fetchMs).setRenderMs((long) (summary.seconds() * 1000))
                            .setUploadMs((System.nanoTime() - t2) / 1_000_000))
                    .build());
        } catch (TaskStoppedException s) {
            if (s.fenced()) {
                return new TaskOutcome.Fenced(s.getMessage());
            }
            // a drained trainer gives the task back; the next one resumes from the checkpoint in S3
            return s.cancelled() ? new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_CANCELLED, s.getMessage(), false)
                    : new TaskOutcome.GivenBack(s.getMessage());
        } catch (StorageUnavailableException e) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_STORAGE_UNAVAILABLE, e.getMessage(), true);
        } catch (ObjectNotFoundException e) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_BAD_INPUT, "the data set is no longer in storage: " + e.getMessage(),
                    false, true);
        } catch (IllegalArgumentException e) {
            // a job or data set no retry can change: bad fields, an archive that is no zip, too few usable rows
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_BAD_INPUT, e.getMessage(), false, true);
        } catch (IOException e) {
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_INTERNAL, e.toString(), true);
        } catch (RuntimeException e) {
            LOG.warn("training task {} failed unexpectedly", task.getTaskId(), e);
            return new TaskOutcome.Failed(FailureCause.FAILURE_CAUSE_INTERNAL, e.toString(), true);
        }
    }

    /**
     * Each optimiser step as the task's progress, with its loss and rate (the worker's listener may
     * stop the run); each sample grid stored among the job's outputs and sent as the progress preview.
     */
    private TrainingListener progress(TaskProcessor.Attempt a, String prefix) {
        return new TrainingListener() {
            private long totalSteps;

            @Override
            public void step(String stage, long step, long totalSteps, double loss, double learningRate, double stepsPerSecond) {
                this.totalSteps = totalSteps;
                a.listener().onTrainingStep((int) step, (int) totalSteps, loss, learningRate, stepsPerSecond);
            }

            @Override
            public void sample(String stage, SampleGrid grid) {
                try {
                    byte[] png = Files.readAllBytes(grid.grid());
                    String key = prefix + SAMPLES + grid.grid().getFileName();
                    store.put(key, png, "image/png");
                    a.listener().onTrainingSample((int) grid.step(), (int) totalSteps, png, dev.cnfarm.proto.v1.TrainingSample.newBuilder()
                            .setKey(key).setEdgeF1(grid.edgeF1()).setBaselineEdgeF1(grid.baselineEdgeF1()).build());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException("cannot read the sample grid " + grid.grid() + ": " + e.getMessage(), e);
                }
            }

            @Override
            public void note(String message) {
                LOG.info("job {}: {}", a.task().getJobId(), message);
            }
        };
    }

    @Override
    public List<String> modelIds() {
        return List.copyOf(bases.keySet());
    }

    @Override
    public String executionProvider() {
        return "CPU";
    }
}
