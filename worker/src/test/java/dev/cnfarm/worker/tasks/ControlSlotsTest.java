package dev.cnfarm.worker.tasks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cnfarm.worker.engine.ControlMode;
import dev.cnfarm.worker.engine.ControlUnit;
import dev.cnfarm.worker.render.BadInputException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Control inputs find their ControlNet by name, or by position when they name none. */
class ControlSlotsTest {
    private static final List<String> NAMES = List.of("canny", "scribble");

    private static ControlUnit unit(float scale) {
        return new ControlUnit(new float[3 * 8 * 8], scale, 0, 1, ControlMode.BALANCED);
    }

    @Test
    void unnamedInputsKeepTheirPositions() {
        List<ControlUnit> units = List.of(unit(1), unit(0.5f));
        assertThat(ControlSlots.arrange("m", NAMES, List.of("", ""), units, 8, 8)).isSameAs(units);
    }

    @Test
    void aNamedInputGoesToItsSlotAndTheSlotsBeforeItAreOff() {
        ControlUnit scribble = unit(0.8f);
        List<ControlUnit> out = ControlSlots.arrange("m", NAMES, List.of("scribble"), List.of(scribble), 8, 8);
        assertThat(out).hasSize(2);
        assertThat(out.get(1)).isSameAs(scribble);
        assertThat(out.get(0).scale()).isZero();
        assertThat(out.get(0).activeAt(0, 20)).as("an empty slot adds nothing").isFalse();
    }

    @Test
    void namesInAnyOrderAreSorted() {
        ControlUnit a = unit(1);
        ControlUnit b = unit(0.7f);
        assertThat(ControlSlots.arrange("m", NAMES, List.of("scribble", "canny"), List.of(a, b), 8, 8)).containsExactly(b, a);
    }

    @Test
    void anUnknownNameOrTwoInputsForOneSlotFailAtOnceNamingWhatTheModelHas() {
        assertThatThrownBy(() -> ControlSlots.arrange("shapes", NAMES, List.of("depth"), List.of(unit(1)), 8, 8))
                .isInstanceOf(BadInputException.class).hasMessageContaining("no ControlNet 'depth'").hasMessageContaining("[canny, scribble]")
                .satisfies(e -> assertThat(((BadInputException) e).isPermanent()).isTrue());
        assertThatThrownBy(() -> ControlSlots.arrange("shapes", NAMES, List.of("", "canny"), List.of(unit(1), unit(1)), 8, 8))
                .isInstanceOf(BadInputException.class).hasMessageContaining("two control inputs go to ControlNet 'canny'");
    }
}
