package dev.cnfarm.coordinator.jobs;

import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.proto.v1.ControlNetInput;
import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.RenderTask;
import dev.cnfarm.proto.v1.SchemaVersion;
import java.util.ArrayList;
import java.util.List;

/**
 * Expands a job's matrix into tasks. The order is prompts, then control images, then seeds
 * (seeds vary fastest), and a task's index is its position in that order; task ids and output
 * keys derive from the index, so the expansion is the same every time it is done.
 */
public final class JobExpander {
    private JobExpander() {}

    public static long taskCount(JobSpec spec) {
        return (long) spec.getPromptsCount() * spec.getControlImagesCount() * spec.getSeedsCount();
    }

    public static String taskId(String jobId, int index) {
        return jobId + "-" + index;
    }

    public static List<RenderTask> expand(String jobId, String tenant, JobSpec spec, long releasedAtMs) {
        int count = (int) taskCount(spec);
        List<RenderTask> tasks = new ArrayList<>(count);
        for (int index = 0; index < count; index++) {
            tasks.add(task(jobId, tenant, spec, index, releasedAtMs));
        }
        return tasks;
    }

    /** The task at one index of the matrix, made without expanding the rest (the scheduler releases tasks one by one). */
    public static RenderTask task(String jobId, String tenant, JobSpec spec, int index, long releasedAtMs) {
        int seeds = spec.getSeedsCount();
        int images = spec.getControlImagesCount();
        long seed = spec.getSeeds(index % seeds);
        ObjectRef control = spec.getControlImages((index / seeds) % images);
        String prompt = spec.getPrompts(index / (seeds * images));
        return RenderTask.newBuilder()
                .setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE)
                .setTaskId(taskId(jobId, index))
                .setJobId(jobId)
                .setTenant(tenant)
                .setIndex(index)
                .setPrompt(prompt)
                .setNegativePrompt(spec.getNegativePrompt())
                .addControlnets(ControlNetInput.newBuilder().setImage(control)
                        .setScale(spec.getControlScale()).setStart(spec.getControlStart())
                        .setEnd(spec.getControlEnd()).setMode(spec.getControlMode())
                        .setPreprocessor(spec.getPreprocessor()).putAllPreprocessorParams(spec.getPreprocessorParamsMap())
                        .setResizeMode(spec.getResizeMode()))
                .addAllControlnets(spec.getAdditionalControlnetsList())
                .setGuessMode(spec.getGuessMode())
                .setEta(spec.getEta())
                .setSeed(seed)
                .setSteps(spec.getSteps())
                .setWidth(spec.getWidth())
                .setHeight(spec.getHeight())
                .setGuidanceScale(spec.getGuidanceScale())
                .setScheduler(spec.getScheduler())
                .setModel(spec.getModel())
                .setOutputKey(ObjectKeys.output(tenant, jobId, index))
                .setReleasedAtMs(releasedAtMs)
                .setRelease(1)
                .build();
    }
}
