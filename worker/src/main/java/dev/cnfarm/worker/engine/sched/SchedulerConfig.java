package dev.cnfarm.worker.engine.sched;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * A diffusers scheduler_config.json: the training schedule and the defaults of inference. SD1.5's
 * file sets no {@code timestep_spacing}, so each scheduler uses its own default (DDIM "leading",
 * the others "linspace"), as diffusers does.
 *
 * @param timestepSpacing null for the scheduler's own default
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record SchedulerConfig(int numTrainTimesteps, double betaStart, double betaEnd, String betaSchedule, int stepsOffset,
                              String timestepSpacing, String predictionType) {

    public static SchedulerConfig sd15() {
        return new SchedulerConfig(1000, 0.00085, 0.012, "scaled_linear", 1, null, "epsilon");
    }

    public String spacingOr(String schedulerDefault) {
        return timestepSpacing == null ? schedulerDefault : timestepSpacing;
    }
}
