package io.candor.util;

/**
 * The one source of randomness in Candor. Every draw derives from the run seed and stable ids (row, feature,
 * repeat, ...), so a retried Spark task, a re-run and a different partitioning see the same numbers.
 * Mixing is SplitMix64's finaliser, applied to each id in turn.
 */
public final class Seeds {
    private Seeds() {
    }

    /** A 64-bit seed derived from {@code seed} and the ids, in order. */
    public static long derive(long seed, long... ids) {
        long h = mix(seed ^ 0x9E3779B97F4A7C15L);
        for (long id : ids) {
            h = mix(h + 0x9E3779B97F4A7C15L + id);
        }
        return h;
    }

    /** A uniform double in [0, 1) derived from {@code seed} and the ids. */
    public static double uniform(long seed, long... ids) {
        return (derive(seed, ids) >>> 11) * 0x1.0p-53;
    }

    /** A seeded stream for draws that belong to one (seed, ids...) unit of work. */
    public static java.util.SplittableRandom stream(long seed, long... ids) {
        return new java.util.SplittableRandom(derive(seed, ids));
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
