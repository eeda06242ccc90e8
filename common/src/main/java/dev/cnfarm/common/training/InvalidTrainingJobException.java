package dev.cnfarm.common.training;

import java.util.List;
import java.util.stream.Collectors;

/** A training job refused, with every bad field and what to do about it. */
public final class InvalidTrainingJobException extends IllegalArgumentException {
    /** One bad field: its name as the job writes it and the fix. */
    public record Problem(String field, String message) {}

    private final List<Problem> problems;

    public InvalidTrainingJobException(List<Problem> problems) {
        super("the training job has " + problems.size() + " bad field(s): " + problems.stream()
                .map(p -> p.field() + ": " + p.message()).collect(Collectors.joining("; ")));
        this.problems = List.copyOf(problems);
    }

    public List<Problem> problems() {
        return problems;
    }
}
