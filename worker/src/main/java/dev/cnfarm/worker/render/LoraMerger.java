package dev.cnfarm.worker.render;

import dev.cnfarm.proto.v1.LoraRef;
import java.util.List;

/** The model a task renders with once its LoRA files are merged in (see {@link LoraModels}). */
@FunctionalInterface
public interface LoraMerger {
    /** For workers that cannot merge (given renderers, simulated GPUs): a task with LoRA fails at once, saying so. */
    LoraMerger NONE = (base, tenant, loras) -> {
        throw BadInputException.permanent("this worker renders no LoRA (its models are " + base.modelId()
                + " as given, without sessions of its own); send the job to a render worker");
    };

    /**
     * @param base   the model the task names
     * @param tenant whose uploads the files are
     * @param loras  the task's LoRA files and weights, in order (empty: {@code base} itself)
     */
    Renderer apply(Renderer base, String tenant, List<LoraRef> loras);
}
