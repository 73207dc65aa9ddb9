package io.candor.explain;

import java.util.Arrays;

/**
 * Throughput measurement for the benchmarks: an explainer and its plain-inference baseline are measured in
 * alternating rounds and compared by their medians, so warm-up, frequency scaling and neighbours on the machine
 * weigh on both alike.
 */
final class Throughput {
    private static final double MIN_SECONDS = 1.0;
    private static final int ROUNDS = 5;

    private Throughput() {
    }

    /** Median units per second of the plain work and of the explainer work. */
    record Pair(double plain, double explainer) {
        double efficiency() {
            return explainer / plain;
        }
    }

    static Pair alternating(Runnable plain, long plainUnits, Runnable explainer, long explainerUnits) {
        plain.run();
        explainer.run();
        double[] p = new double[ROUNDS];
        double[] e = new double[ROUNDS];
        for (int round = 0; round < ROUNDS; round++) {
            p[round] = perSecond(plain, plainUnits);
            e[round] = perSecond(explainer, explainerUnits);
        }
        return new Pair(median(p), median(e));
    }

    /** Units per second of {@code work}, repeated for at least a second. */
    static double perSecond(Runnable work, long unitsPerRun) {
        long start = System.nanoTime();
        long runs = 0;
        double elapsed;
        do {
            work.run();
            runs++;
            elapsed = (System.nanoTime() - start) / 1e9;
        } while (elapsed < MIN_SECONDS);
        return runs * unitsPerRun / elapsed;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
