package io.candor.explain.shapley;

/**
 * The reference distribution that absent players are drawn from: rows with weights summing to 1 (uniform rows, or
 * the weighted centres of a KMeans summary). The value of a coalition S for an input x is the marginal
 * (interventional) expectation {@code v(S) = Σ_b w_b f(x_S, bg_b,¬S)} (Janzing, Minorics, Blöbaum 2020; the
 * "interventional" KernelSHAP of Lundberg &amp; Lee 2017). Immutable; rows are copied in.
 */
public final class Background {
    private final double[][] rows;
    private final double[] weights;

    private Background(double[][] rows, double[] weights) {
        this.rows = rows;
        this.weights = weights;
    }

    /** Rows with equal weights. */
    public static Background uniform(double[][] rows) {
        double[] w = new double[rows == null ? 0 : rows.length];
        java.util.Arrays.fill(w, 1.0);
        return weighted(rows, w);
    }

    /**
     * Rows with the given non-negative weights, normalised to sum to 1 (so cluster sizes can be passed as they are).
     *
     * @throws IllegalArgumentException if there are no rows, rows differ in width, a value is not finite, or the
     *     weights are not one finite non-negative number per row with a positive sum
     */
    public static Background weighted(double[][] rows, double[] weights) {
        if (rows == null || rows.length == 0) {
            throw new IllegalArgumentException("background: no rows; expected at least one row");
        }
        if (weights == null || weights.length != rows.length) {
            throw new IllegalArgumentException("background weights: " + (weights == null ? "null" : weights.length
                    + " weights") + " for " + rows.length + " rows; expected one weight per row");
        }
        int width = rows[0] == null ? 0 : rows[0].length;
        if (width == 0) {
            throw new IllegalArgumentException("background: row 0 is empty; expected at least one column");
        }
        double[][] copy = new double[rows.length][];
        double sum = 0;
        for (int b = 0; b < rows.length; b++) {
            if (rows[b] == null || rows[b].length != width) {
                throw new IllegalArgumentException("background: row " + b + " has "
                        + (rows[b] == null ? "no" : rows[b].length) + " values; expected " + width + " like row 0");
            }
            for (int j = 0; j < width; j++) {
                if (!Double.isFinite(rows[b][j])) {
                    throw new IllegalArgumentException("background: row " + b + " column " + j + " is " + rows[b][j]
                            + "; expected a finite value");
                }
            }
            if (!(weights[b] >= 0) || !Double.isFinite(weights[b])) {
                throw new IllegalArgumentException("background weights: weight " + b + " is " + weights[b]
                        + "; expected a finite value >= 0");
            }
            copy[b] = rows[b].clone();
            sum += weights[b];
        }
        if (!(sum > 0)) {
            throw new IllegalArgumentException("background weights: they sum to " + sum + "; expected a positive sum");
        }
        double[] w = new double[weights.length];
        for (int b = 0; b < w.length; b++) {
            w[b] = weights[b] / sum;
        }
        return new Background(copy, w);
    }

    /** Number of rows. */
    public int size() {
        return rows.length;
    }

    /** Width of a row. */
    public int width() {
        return rows[0].length;
    }

    /** A copy of row {@code b}. */
    public double[] row(int b) {
        return rows[b].clone();
    }

    /** Normalised weight of row {@code b}. */
    public double weight(int b) {
        return weights[b];
    }

    /** The weighted mean of each column, {@code E_bg[x_j]}. */
    public double[] mean() {
        double[] m = new double[width()];
        for (int b = 0; b < rows.length; b++) {
            for (int j = 0; j < m.length; j++) {
                m[j] += weights[b] * rows[b][j];
            }
        }
        return m;
    }

    /** Row {@code b} itself, for the evaluator's copy loops; callers must not modify it. */
    double[] rowView(int b) {
        return rows[b];
    }
}
