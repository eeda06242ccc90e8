package dev.cnfarm.coordinator.jobs;

import dev.cnfarm.common.storage.ObjectKeys;
import dev.cnfarm.proto.v1.ControlNetInput;
import dev.cnfarm.proto.v1.JobRow;
import dev.cnfarm.proto.v1.JobSpec;
import dev.cnfarm.proto.v1.ObjectRef;
import dev.cnfarm.proto.v1.RenderTask;
import dev.cnfarm.proto.v1.SchemaVersion;
import java.util.ArrayList;
import java.util.List;

/**
 * Expands a job's matrix into tasks. The order is prompts, then control images, then seeds
 * (seeds vary fastest), and a task's index is its position in that order; a manifest job's task i
 * is its row i; task ids and output
 * keys derive from the index, so the expansion is the same every time it is done.
 */
public final class JobExpander {
    private JobExpander() {}

    public static long taskCount(JobSpec spec) {
        long base = baseCount(spec);
        if (hasUpscale(spec)) {
            return base + base * TileGrid.of(spec).count() + base; // the images, their tiles, one blend each
        }
        return base * (hasHires(spec) ? 2 : 1);
    }

    /**
     * One stage of a job for its quote: how many tasks, and the steps they run at which size
     * (img2img runs the strength's share of its steps; a blend runs none).
     */
    public record Stage(String name, long tasks, int steps, int width, int height) {}

    public static List<Stage> stages(JobSpec spec) {
        long base = baseCount(spec);
        List<Stage> out = new ArrayList<>();
        out.add(new Stage("base", base, spec.getSteps(), spec.getWidth(), spec.getHeight()));
        if (hasUpscale(spec)) {
            var u = spec.getUpscale();
            TileGrid grid = TileGrid.of(spec);
            int steps = (int) Math.floor((u.getSteps() > 0 ? u.getSteps() : spec.getSteps()) * (double) u.getStrength() + 1e-4);
            out.add(new Stage("tiles", base * grid.count(), steps, grid.tileWidth(), grid.tileHeight()));
            out.add(new Stage("blend", base, 0, grid.fullWidth(), grid.fullHeight()));
        } else if (hasHires(spec)) {
            var h = spec.getHires();
            int steps = (int) Math.floor((h.getSteps() > 0 ? h.getSteps() : spec.getSteps()) * (double) h.getStrength() + 1e-4);
            out.add(new Stage("hires", base, steps, hiresSide(spec.getWidth(), h.getScale()), hiresSide(spec.getHeight(), h.getScale())));
        }
        return out;
    }

    public static boolean hasUpscale(JobSpec spec) {
        return spec.hasUpscale() && spec.getUpscale().getScale() > 1f;
    }

    /** The job's own images (the base pass): rows, or the matrix's cells; a hires fix adds as many second-pass tasks after them. */
    public static long baseCount(JobSpec spec) {
        if (!spec.getTrainControlnetJson().isEmpty()) {
            return 1; // a training job is one task: the whole run
        }
        if (spec.getRowsCount() > 0) {
            return spec.getRowsCount();
        }
        return (long) spec.getPromptsCount() * images(spec) * spec.getSeedsCount();
    }

    public static boolean hasHires(JobSpec spec) {
        return spec.hasHires() && spec.getHires().getScale() > 1f;
    }

    /**
     * The tasks whose success the task at {@code index} waits for (their outputs are its inputs):
     * a hires pass waits for its base image; the base pass waits for nothing. Always lower indexes,
     * so releasing in index order never waits for a task not yet released.
     */
    public static int[] dependencies(JobSpec spec, int index) {
        long base = baseCount(spec);
        if (index < base) {
            return new int[0];
        }
        if (hasUpscale(spec)) {
            int tiles = TileGrid.of(spec).count();
            long blends = base + base * tiles;
            if (index < blends) {
                return new int[] {(int) ((index - base) / tiles)}; // a tile waits for its image
            }
            int image = (int) (index - blends);
            int[] out = new int[tiles]; // a blend waits for its image's tiles
            for (int t = 0; t < tiles; t++) {
                out[t] = (int) (base + (long) image * tiles + t);
            }
            return out;
        }
        return hasHires(spec) ? new int[] {(int) (index - base)} : new int[0];
    }

    /** A hires pass's side: the base side times the scale, rounded down to a multiple of 8. */
    public static int hiresSide(int side, float scale) {
        return (int) (side * (double) scale) / 8 * 8;
    }

    /** The matrix's images: the control images, or without them the init images (img2img), or one (text to image). */
    private static int images(JobSpec spec) {
        return Math.max(1, spec.getControlImagesCount() > 0 ? spec.getControlImagesCount() : spec.getInitImagesCount());
    }

    /** True when no image of the job has a control image: every task renders text to image with the plain UNet. */
    public static boolean textToImage(JobSpec spec) {
        if (spec.getRowsCount() > 0) {
            return spec.getRowsList().stream().noneMatch(JobRow::hasControlImage);
        }
        return spec.getControlImagesCount() == 0;
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

    /**
     * The task at one index, made without expanding the rest (the scheduler releases tasks one by
     * one). A hires pass is its base task at the larger size, with the pass's steps and strength; its
     * init image (the base task's output) is the scheduler's to fill in when the base task succeeds.
     */
    public static RenderTask task(String jobId, String tenant, JobSpec spec, int index, long releasedAtMs) {
        long base = baseCount(spec);
        if (hasUpscale(spec) && index >= base) {
            return upscaleTask(jobId, tenant, spec, index, releasedAtMs, base);
        }
        if (hasHires(spec) && index >= base) {
            RenderTask first = baseTask(jobId, tenant, spec, (int) (index - base), releasedAtMs);
            var h = spec.getHires();
            return first.toBuilder().setTaskId(taskId(jobId, index)).setIndex(index).setOutputKey(ObjectKeys.output(tenant, jobId, index))
                    .setWidth(hiresSide(first.getWidth(), h.getScale())).setHeight(hiresSide(first.getHeight(), h.getScale()))
                    .setSteps(h.getSteps() > 0 ? h.getSteps() : first.getSteps()).setStrength(h.getStrength())
                    .clearInitImage().clearMaskImage().setMaskBlur(0).setStage(1).addDependsOn((int) (index - base)).build();
        }
        return baseTask(jobId, tenant, spec, index, releasedAtMs);
    }

    /**
     * A tiled upscale's task: a tile (its image's task at the tile's size, cropped from the enlarged
     * image, as img2img at the upscale's strength; init image filled in by the scheduler) or a
     * blend (no model: the image's tiles, filled in by the scheduler, feathered into one image).
     */
    private static RenderTask upscaleTask(String jobId, String tenant, JobSpec spec, int index, long releasedAtMs, long base) {
        TileGrid grid = TileGrid.of(spec);
        int tiles = grid.count();
        long blends = base + base * tiles;
        var u = spec.getUpscale();
        if (index < blends) {
            int image = (int) ((index - base) / tiles);
            int t = (int) ((index - base) % tiles);
            RenderTask first = baseTask(jobId, tenant, spec, image, releasedAtMs);
            return first.toBuilder().setTaskId(taskId(jobId, index)).setIndex(index).setOutputKey(ObjectKeys.output(tenant, jobId, index))
                    .setWidth(grid.tileWidth()).setHeight(grid.tileHeight()).setSteps(u.getSteps() > 0 ? u.getSteps() : first.getSteps())
                    .setStrength(u.getStrength()).clearInitImage().clearMaskImage().setMaskBlur(0).setStage(1).addDependsOn(image)
                    .setCrop(dev.cnfarm.proto.v1.TileCrop.newBuilder().setX(grid.x(t)).setY(grid.y(t)).setFullWidth(grid.fullWidth())
                            .setFullHeight(grid.fullHeight()))
                    .build();
        }
        int image = (int) (index - blends);
        RenderTask first = baseTask(jobId, tenant, spec, image, releasedAtMs);
        RenderTask.Builder blend = first.toBuilder().setTaskId(taskId(jobId, index)).setIndex(index)
                .setOutputKey(ObjectKeys.output(tenant, jobId, index)).setWidth(grid.fullWidth()).setHeight(grid.fullHeight())
                .clearControlnets().clearInitImage().clearMaskImage().setStage(2).setOverlap(u.getOverlap());
        for (int t = 0; t < tiles; t++) {
            blend.addDependsOn((int) (base + (long) image * tiles + t)).addTiles(dev.cnfarm.proto.v1.TilePlacement.newBuilder()
                    .setX(grid.x(t)).setY(grid.y(t)).setWidth(grid.tileWidth()).setHeight(grid.tileHeight()));
        }
        return blend.build();
    }

    private static RenderTask baseTask(String jobId, String tenant, JobSpec spec, int index, long releasedAtMs) {
        if (!spec.getTrainControlnetJson().isEmpty()) {
            return RenderTask.newBuilder().setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE)
                    .setTaskId(taskId(jobId, index)).setJobId(jobId).setTenant(tenant).setIndex(index)
                    .setModel(spec.getModel()).setSteps(spec.getSteps())
                    .setOutputKey(ObjectKeys.output(tenant, jobId, index)).setReleasedAtMs(releasedAtMs).setRelease(1)
                    .setPool(spec.getPool()).setTrainControlnetJson(spec.getTrainControlnetJson()).build();
        }
        long seed;
        ObjectRef control;
        ObjectRef init;
        ObjectRef mask;
        String prompt;
        String negative = spec.getNegativePrompt();
        int steps = spec.getSteps();
        float guidance = spec.getGuidanceScale();
        float controlScale = spec.getControlScale();
        if (spec.getRowsCount() > 0) {
            // a manifest job: the row is the task, its overrides over the job's values
            JobRow row = spec.getRows(index);
            seed = row.getSeed();
            control = row.hasControlImage() ? row.getControlImage() : null;
            init = row.hasInitImage() ? row.getInitImage() : null;
            mask = row.hasMaskImage() ? row.getMaskImage() : null;
            prompt = row.getPrompt();
            negative = row.getNegativePrompt().isEmpty() ? negative : row.getNegativePrompt();
            steps = row.hasSteps() ? row.getSteps() : steps;
            guidance = row.hasGuidanceScale() ? row.getGuidanceScale() : guidance;
            controlScale = row.hasControlScale() ? row.getControlScale() : controlScale;
        } else {
            int seeds = spec.getSeedsCount();
            int images = images(spec);
            int image = (index / seeds) % images;
            seed = spec.getSeeds(index % seeds);
            control = spec.getControlImagesCount() == 0 ? null : spec.getControlImages(image);
            // one init image for all, or one per image of the matrix; a mask per init image, or one for all
            int initAt = spec.getInitImagesCount() == 1 ? 0 : image;
            init = spec.getInitImagesCount() == 0 ? null : spec.getInitImages(initAt);
            mask = spec.getMaskImagesCount() == 0 ? null : spec.getMaskImages(spec.getMaskImagesCount() == 1 ? 0 : initAt);
            prompt = spec.getPrompts(index / (seeds * images));
        }
        RenderTask.Builder task = RenderTask.newBuilder()
                .setSchemaVersion(SchemaVersion.SCHEMA_VERSION_CURRENT_VALUE)
                .setTaskId(taskId(jobId, index))
                .setJobId(jobId)
                .setTenant(tenant)
                .setIndex(index)
                .setPrompt(prompt)
                .setNegativePrompt(negative)
                .setGuessMode(spec.getGuessMode())
                .setMaxBatch(spec.getBatchSize())
                .setEta(spec.getEta())
                .setSeed(seed)
                .setSteps(steps)
                .setWidth(spec.getWidth())
                .setHeight(spec.getHeight())
                .setGuidanceScale(guidance)
                .setScheduler(spec.getScheduler())
                .setNoise(spec.getNoise())
                .addAllLoras(spec.getLorasList())
                .setModel(spec.getModel())
                .setOutputKey(ObjectKeys.output(tenant, jobId, index))
                .setReleasedAtMs(releasedAtMs)
                .setRelease(1)
                .setPool(spec.getPool());
        if (init != null) {
            task.setInitImage(init).setStrength(spec.getStrength());
            if (mask != null) {
                task.setMaskImage(mask).setMaskBlur(spec.getMaskBlur());
            }
        }
        if (control != null) {
            // without a control image the task is text to image: no ControlNet at all, the plain UNet runs every step
            task.addControlnets(ControlNetInput.newBuilder().setImage(control)
                            .setScale(controlScale).setStart(spec.getControlStart())
                            .setEnd(spec.getControlEnd()).setMode(spec.getControlMode())
                            .setPreprocessor(spec.getPreprocessor()).putAllPreprocessorParams(spec.getPreprocessorParamsMap())
                            .setResizeMode(spec.getResizeMode()).setControlnet(spec.getControlnet()))
                    .addAllControlnets(spec.getAdditionalControlnetsList());
        }
        return task.build();
    }
}
