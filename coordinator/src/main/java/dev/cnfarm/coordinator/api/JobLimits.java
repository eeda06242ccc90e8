package dev.cnfarm.coordinator.api;

/** The ranges a job's fields must fall in; the validator's messages quote them. */
public record JobLimits(int maxTasks, int maxSteps, int minSide, int maxSide, int maxPromptChars, int maxPrompts,
                        int maxControlImages, int maxSeeds) {

    public static JobLimits defaults(int maxTasks) {
        return new JobLimits(maxTasks, 150, 64, 2048, 2000, 10_000, 10_000, 10_000);
    }
}
