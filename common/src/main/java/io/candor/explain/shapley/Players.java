package io.candor.explain.shapley;

import io.candor.data.FeatureGroup;

import java.util.Arrays;
import java.util.List;

/**
 * The players of a Shapley game over a model's inputs: disjoint groups of input columns that are kept or replaced
 * together (a numeric column alone, or the one-hot columns of one categorical source column).
 *
 * <p>The groups must partition the inputs: disjoint, and covering every column. Coverage is required because a
 * column outside every group would have no player to carry its effect, so {@code base = E_bg[f]} and
 * {@code Σφ + base = f(x)} could not both hold. Immutable.
 */
public final class Players {
    private final int[][] groups;
    private final int inputs;

    private Players(int[][] groups, int inputs) {
        this.groups = groups;
        this.inputs = inputs;
    }

    /** One player per input column. */
    public static Players singletons(int inputs) {
        if (inputs < 1) {
            throw new IllegalArgumentException("inputs: " + inputs + " is below 1; expected at least one input column");
        }
        int[][] groups = new int[inputs][];
        for (int j = 0; j < inputs; j++) {
            groups[j] = new int[] {j};
        }
        return new Players(groups, inputs);
    }

    /** Players from the data layout's feature groups. */
    public static Players fromFeatureGroups(List<FeatureGroup> groups, int inputs) {
        return of(groups.stream().map(g -> g.indices().stream().mapToInt(Integer::intValue).toArray()).toList(),
                inputs);
    }

    /**
     * @param groups one array of input column indices per player
     * @param inputs the model's input width
     * @throws IllegalArgumentException if a group is empty, holds a column outside {@code [0, inputs)} or twice,
     *     two groups overlap (the message names both), or a column is in no group
     */
    public static Players of(List<int[]> groups, int inputs) {
        if (groups == null || groups.isEmpty()) {
            throw new IllegalArgumentException("groups: " + groups + " is empty; expected at least one group");
        }
        int[] owner = new int[inputs];
        Arrays.fill(owner, -1);
        int[][] copy = new int[groups.size()][];
        for (int p = 0; p < copy.length; p++) {
            int[] g = groups.get(p);
            if (g == null || g.length == 0) {
                throw new IllegalArgumentException("groups: group " + p + " is empty; expected at least one column");
            }
            copy[p] = g.clone();
            for (int col : g) {
                if (col < 0 || col >= inputs) {
                    throw new IllegalArgumentException("groups: group " + p + " " + Arrays.toString(g) + " has column "
                            + col + "; expected columns in 0.." + (inputs - 1) + " (model inputs = " + inputs + ")");
                }
                if (owner[col] == p) {
                    throw new IllegalArgumentException("groups: group " + p + " " + Arrays.toString(g)
                            + " lists column " + col + " twice; expected distinct columns");
                }
                if (owner[col] >= 0) {
                    int q = owner[col];
                    throw new IllegalArgumentException("groups: group " + q + " " + Arrays.toString(groups.get(q))
                            + " and group " + p + " " + Arrays.toString(g) + " overlap at column " + col
                            + "; expected disjoint groups");
                }
                owner[col] = p;
            }
        }
        for (int col = 0; col < inputs; col++) {
            if (owner[col] < 0) {
                throw new IllegalArgumentException("groups: column " + col + " is in no group; expected the groups to "
                        + "cover every input column 0.." + (inputs - 1));
            }
        }
        return new Players(copy, inputs);
    }

    /** Number of players. */
    public int count() {
        return groups.length;
    }

    /** Width of the model input the groups partition. */
    public int inputs() {
        return inputs;
    }

    /** The input columns of player {@code p}. */
    public int[] group(int p) {
        return groups[p].clone();
    }

    /** The input columns of the players in {@code coalition}, in player order. */
    int[] columnsOf(boolean[] coalition) {
        int n = 0;
        for (int p = 0; p < groups.length; p++) {
            if (coalition[p]) {
                n += groups[p].length;
            }
        }
        int[] cols = new int[n];
        int k = 0;
        for (int p = 0; p < groups.length; p++) {
            if (coalition[p]) {
                System.arraycopy(groups[p], 0, cols, k, groups[p].length);
                k += groups[p].length;
            }
        }
        return cols;
    }

    @Override
    public String toString() {
        return "Players" + Arrays.deepToString(groups);
    }
}
