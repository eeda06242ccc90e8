package dev.cnfarm.coordinator.scheduler;

import dev.cnfarm.proto.v1.JobState;
import dev.cnfarm.proto.v1.SchedulerJob;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Which job's task goes next: highest priority first; among equals, the tenant with the fewest
 * tasks in flight (fair share between teams), then the job with the fewest in flight (fair share
 * between one team's jobs), then the oldest job. Suspended jobs wait.
 */
final class ReleaseOrder {
    private ReleaseOrder() {}

    static SchedulerJob pick(Collection<SchedulerJob> active, Predicate<SchedulerJob> hasWork) {
        Map<String, Integer> tenantInFlight = new HashMap<>();
        for (SchedulerJob j : active) {
            tenantInFlight.merge(j.getRecord().getTenant(), j.getInFlight(), Integer::sum);
        }
        SchedulerJob best = null;
        for (SchedulerJob j : active) {
            if (j.getRecord().getState() == JobState.JOB_STATE_SUSPENDED || !hasWork.test(j)) {
                continue;
            }
            if (best == null || before(j, best, tenantInFlight)) {
                best = j;
            }
        }
        return best;
    }

    private static boolean before(SchedulerJob a, SchedulerJob b, Map<String, Integer> tenantInFlight) {
        int c = Integer.compare(b.getRecord().getSpec().getPriority(), a.getRecord().getSpec().getPriority());
        if (c == 0) {
            c = Integer.compare(tenantInFlight.get(a.getRecord().getTenant()), tenantInFlight.get(b.getRecord().getTenant()));
        }
        if (c == 0) {
            c = Integer.compare(a.getInFlight(), b.getInFlight());
        }
        if (c == 0) {
            c = Long.compare(a.getRecord().getSubmittedAtMs(), b.getRecord().getSubmittedAtMs());
        }
        if (c == 0) {
            c = a.getRecord().getJobId().compareTo(b.getRecord().getJobId());
        }
        return c < 0;
    }
}
