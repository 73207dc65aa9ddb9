package io.candor.explain.shapley;

import java.util.SplittableRandom;

/** Random orders and subsets of players, drawn from a stream that {@code Seeds.stream} derived. */
public final class Sampling {
    private Sampling() {
    }

    /** A uniformly random ordering of {@code 0..m-1} (Fisher–Yates). */
    public static int[] permutation(SplittableRandom rng, int m) {
        int[] p = new int[m];
        for (int i = 0; i < m; i++) {
            p[i] = i;
        }
        for (int i = m - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** Flags of a uniformly random subset of {@code size} out of {@code m} players (partial Fisher–Yates). */
    static boolean[] subset(SplittableRandom rng, int m, int size) {
        int[] p = new int[m];
        for (int i = 0; i < m; i++) {
            p[i] = i;
        }
        boolean[] in = new boolean[m];
        for (int i = 0; i < size; i++) {
            int j = i + rng.nextInt(m - i);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
            in[p[i]] = true;
        }
        return in;
    }

    /** Flags of the players not in {@code coalition}. */
    static boolean[] complement(boolean[] coalition) {
        boolean[] c = new boolean[coalition.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = !coalition[i];
        }
        return c;
    }

    /** Flags of the first {@code k} players of {@code order}. */
    static boolean[] prefix(int[] order, int k) {
        boolean[] in = new boolean[order.length];
        for (int i = 0; i < k; i++) {
            in[order[i]] = true;
        }
        return in;
    }

    /** {@code order} reversed. */
    static int[] reversed(int[] order) {
        int[] r = new int[order.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = order[r.length - 1 - i];
        }
        return r;
    }
}
