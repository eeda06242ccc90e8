package dev.cnfarm.worker.engine.sched;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The samplers a job can name, with diffusers' SD1.5 defaults. */
public enum SchedulerKind {
    DDIM("ddim"),
    EULER("euler"),
    EULER_A("euler_a"),
    DPMPP_2M("dpmpp_2m"),
    DPMPP_2M_KARRAS("dpmpp_2m_karras"),
    UNIPC("unipc");

    private final String id;

    SchedulerKind(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    /** Whether steps draw fresh noise (then the seed decides more than the initial latent). */
    public boolean stochastic() {
        return this == EULER_A;
    }

    public static SchedulerKind of(String id) {
        String k = id.toLowerCase(Locale.ROOT);
        for (SchedulerKind s : values()) {
            if (s.id.equals(k)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown scheduler '" + id + "'; use one of "
                + Arrays.stream(values()).map(SchedulerKind::id).collect(Collectors.joining(", ")));
    }

    /**
     * A fresh scheduler for one image.
     *
     * @param eta DDIM's eta (0 is deterministic); ignored by the others
     */
    public Scheduler create(SchedulerConfig config, int steps, double eta) {
        if (steps < 1 || steps > 1000) {
            throw new IllegalArgumentException("steps must be 1 to 1000, not " + steps);
        }
        NoiseSchedule schedule = new NoiseSchedule(config);
        return switch (this) {
            case DDIM -> new DdimScheduler(schedule, config, steps, eta);
            case EULER -> new EulerScheduler(schedule, config, steps, false);
            case EULER_A -> new EulerScheduler(schedule, config, steps, true);
            case DPMPP_2M -> new DpmSolverScheduler(schedule, config, steps, false);
            case DPMPP_2M_KARRAS -> new DpmSolverScheduler(schedule, config, steps, true);
            case UNIPC -> new UniPcScheduler(schedule, config, steps);
        };
    }
}
