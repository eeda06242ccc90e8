package dev.cnfarm.loadtests.report;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Timed repetitions of one case: warm-ups first, then the median and spread of the timed runs. */
public final class Stopwatch {
    /** Something to time; may throw. */
    @FunctionalInterface
    public interface Body {
        void run() throws Exception;
    }

    public record Timing(List<Double> seconds) {
        public double median() {
            List<Double> s = new ArrayList<>(seconds);
            Collections.sort(s);
            int n = s.size();
            return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
        }

        public double min() {
            return Collections.min(seconds);
        }

        public double max() {
            return Collections.max(seconds);
        }
    }

    private Stopwatch() {}

    public static Timing time(int warmups, int runs, Body body) throws Exception {
        for (int i = 0; i < warmups; i++) {
            body.run();
        }
        List<Double> s = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            body.run();
            s.add((System.nanoTime() - t0) / 1e9);
        }
        return new Timing(s);
    }
}
