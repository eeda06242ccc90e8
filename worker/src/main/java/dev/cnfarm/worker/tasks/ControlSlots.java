package dev.cnfarm.worker.tasks;

import dev.cnfarm.worker.engine.ControlMode;
import dev.cnfarm.worker.engine.ControlUnit;
import dev.cnfarm.worker.render.BadInputException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Puts a task's control inputs into the model's ControlNet slots. An input that names a ControlNet
 * ({@code canny}, {@code scribble}) goes to the slot of that name; one that names none goes to the
 * slot at its own position, as before names existed (so a job on a model whose first ControlNet
 * is Canny gets Canny). Slots no input fills get a unit at scale 0, which adds nothing.
 */
final class ControlSlots {
    private ControlSlots() {}

    /**
     * @param names what the model's slots are for, in slot order
     * @param asked each input's ControlNet name ("" for none), in input order
     */
    static List<ControlUnit> arrange(String model, List<String> names, List<String> asked, List<ControlUnit> units, int w, int h) {
        if (asked.stream().allMatch(String::isEmpty)) {
            return units;
        }
        ControlUnit[] slots = new ControlUnit[names.size()];
        for (int i = 0; i < units.size(); i++) {
            String name = asked.get(i);
            int slot = name.isEmpty() ? i : names.indexOf(name);
            if (slot < 0 || slot >= slots.length) {
                // no retry on another worker of the same model can help
                throw BadInputException.permanent(name.isEmpty()
                        ? "control input " + i + " names no ControlNet and model " + model + " has only " + names.size()
                        : "model " + model + " has no ControlNet '" + name + "'; it has " + names);
            }
            if (slots[slot] != null) {
                throw BadInputException.permanent("two control inputs go to ControlNet '" + names.get(slot) + "' of model " + model
                        + "; give each input a different controlnet");
            }
            slots[slot] = units.get(i);
        }
        int last = slots.length - 1;
        while (last >= 0 && slots[last] == null) {
            last--;
        }
        List<ControlUnit> out = new ArrayList<>();
        for (int s = 0; s <= last; s++) {
            out.add(slots[s] != null ? slots[s] : off(w, h));
        }
        return out;
    }

    /** A slot left empty: a black image at scale 0 (never active, its residuals multiplied by 0). */
    static ControlUnit off(int w, int h) {
        float[] black = new float[3 * w * h];
        Arrays.fill(black, 0f);
        return new ControlUnit(black, 0f, 0f, 1f, ControlMode.BALANCED);
    }
}
