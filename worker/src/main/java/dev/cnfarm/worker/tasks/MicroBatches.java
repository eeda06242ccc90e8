package dev.cnfarm.worker.tasks;

import dev.cnfarm.proto.v1.ControlNetInput;
import dev.cnfarm.proto.v1.RenderTask;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Sorts the tasks a worker took at once into micro-batches it can compute together: tasks that
 * agree on everything that shapes a UNet run (model, size, steps, scheduler, guidance on or off)
 * and on their ControlNet windows (so no image pays for a ControlNet outside its own window).
 * Prompts, seeds, guidance and control scales, control images and modes may differ. A batch is
 * no larger than the worker's limit nor than any member's job allows ({@code batch_size}).
 */
public final class MicroBatches {

    /** What tasks must share to be computed together. */
    public record BatchKey(String model, int width, int height, int steps, String scheduler, boolean guidance, List<String> windows,
                           List<String> loras, float strength) {

        public static BatchKey of(RenderTask t) {
            List<String> windows = new ArrayList<>();
            for (ControlNetInput c : t.getControlnetsList()) {
                windows.add(c.getStart() + ".." + (c.getEnd() == 0 ? 1f : c.getEnd()));
            }
            // a LoRA set is a model of its own: its sessions carry other weights
            List<String> loras = t.getLorasList().stream().filter(l -> l.getWeight() != 0f)
                    .map(l -> l.getFile().getSha256() + "@" + l.getWeight()).toList();
            return new BatchKey(t.getModel(), t.getWidth(), t.getHeight(), t.getSteps(), t.getScheduler(), t.getGuidanceScale() > 1f,
                    List.copyOf(windows), loras, t.hasInitImage() ? t.getStrength() : -1f); // a strength starts sampling at its own step
        }
    }

    private MicroBatches() {}

    /**
     * @param task      the task of an item
     * @param workerMax the worker's limit ({@code worker.max-batch})
     * @return the items in batches, in the order of their first members; each batch in taken order
     */
    public static <T> List<List<T>> group(List<T> items, Function<T, RenderTask> task, int workerMax) {
        List<Batch<T>> batches = new ArrayList<>();
        Map<BatchKey, Batch<T>> open = new LinkedHashMap<>();
        for (T item : items) {
            RenderTask t = task.apply(item);
            int cap = capOf(t, workerMax);
            BatchKey key = BatchKey.of(t);
            Batch<T> batch = open.get(key);
            if (batch == null || batch.members.size() >= Math.min(batch.cap, cap)) {
                batch = new Batch<>();
                batches.add(batch);
                open.put(key, batch);
            }
            batch.members.add(item);
            batch.cap = Math.min(batch.cap, cap);
        }
        return batches.stream().map(b -> b.members).toList();
    }

    /** A batch being filled: its members and the smallest cap among them. */
    private static final class Batch<T> {
        final List<T> members = new ArrayList<>();
        int cap = Integer.MAX_VALUE;
    }

    private static int capOf(RenderTask t, int workerMax) {
        int job = t.getMaxBatch();
        return Math.max(1, job == 0 ? workerMax : Math.min(job, workerMax));
    }
}
