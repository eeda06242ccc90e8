package dev.cnfarm.worker.render;

/**
 * What became of one image of a batch render: its output, or the exception that ended it early
 * (its step listener stopped it, or its own input was refused). One item ending does not end
 * the others.
 */
public sealed interface ItemResult {

    record Rendered(RenderOutput output) implements ItemResult {}

    record Failed(RuntimeException reason) implements ItemResult {}

    /** The output, or the item's exception thrown again (for callers of a batch of one). */
    default RenderOutput orThrow() {
        if (this instanceof Rendered r) {
            return r.output();
        }
        throw ((Failed) this).reason();
    }
}
