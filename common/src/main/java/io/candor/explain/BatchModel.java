package io.candor.explain;

/**
 * A model as explainers see it: a function from a batch of input rows to a batch of output rows, evaluated in one
 * call. Explainers build large matrices (rows × permutations, rows × coalitions × background) and call
 * {@link #predict} once per matrix, never once per row (DESIGN §2.2). Matrices are row-major {@code double[]}.
 * Implementations need not be thread-safe; each task thread uses its own.
 */
public interface BatchModel {
    /** Width of an input row. */
    int inputs();

    /** Width of an output row: class probabilities, or 1 for regression. */
    int outputs();

    /**
     * @param x {@code rows × inputs()} values, row-major
     * @return {@code rows × outputs()} values, row-major
     */
    double[] predict(double[] x, int rows);
}
