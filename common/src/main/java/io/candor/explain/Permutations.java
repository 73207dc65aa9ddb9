package io.candor.explain;

import io.candor.util.Seeds;

import java.util.SplittableRandom;

/**
 * The permutations of permutation importance, defined by (seed, group, repeat[, block]) alone: a Fisher–Yates
 * shuffle of positions 0..n−1 of the rows in row-id order. Any task, retry or partitioning recomputes the same
 * permutation, which is what makes exact mode reproduce a single-machine run.
 */
public final class Permutations {
    /** Stream id of permutation draws, apart from every other use of the run seed. */
    static final long STREAM = 0x9E2A1L;

    private Permutations() {
    }

    /** {@code result[k]} is the donor position whose group values row position {@code k} receives. */
    public static int[] of(long seed, int n, long group, long repeat, long block) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        SplittableRandom random = Seeds.stream(seed, STREAM, group, repeat, block);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
