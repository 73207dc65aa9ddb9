package io.candor.explain;

import io.candor.util.Seeds;


/**
 * The permutations of block-mode importance (and of the single-machine benchmark), defined by (seed, group, repeat,
 * block) alone: a Fisher–Yates shuffle of positions 0..n−1 of a block's rows in row-id order, so any task or retry
 * recomputes the same one. Exact mode, whose permutation spans every row, ranks rows by a seeded hash instead
 * ({@link PermutationImportanceJob}), which Spark computes without holding the rows in one place.
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
