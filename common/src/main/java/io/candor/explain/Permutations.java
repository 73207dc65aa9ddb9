package io.candor.explain;

import io.candor.util.Seeds;


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
        return io.candor.explain.shapley.Sampling.permutation(Seeds.stream(seed, STREAM, group, repeat, block), n);
    }
}
