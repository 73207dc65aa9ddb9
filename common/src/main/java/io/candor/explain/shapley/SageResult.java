package io.candor.explain.shapley;

import java.util.Arrays;

/**
 * Dataset-wide SAGE values: rows of the {@code shapley_global} table with method {@code sage}.
 *
 * @param values one value per player, the loss reduction it is credited with; they sum (in expectation) to
 *     {@code E[loss(base prediction)] − E[loss(f(x))]}
 * @param stdError one standard error per player
 * @param permutationPairs antithetic permutation pairs drawn (one data row each)
 * @param evaluations model rows evaluated
 * @param converged whether the largest standard error fell below the set fraction of the values' range
 */
public record SageResult(double[] values, double[] stdError, long permutationPairs, long evaluations,
                         boolean converged) {
    public SageResult {
        values = values.clone();
        stdError = stdError.clone();
        if (values.length != stdError.length) {
            throw new IllegalArgumentException("stdError: " + stdError.length + " values; expected one per value ("
                    + values.length + ")");
        }
    }

    @Override
    public double[] values() {
        return values.clone();
    }

    @Override
    public double[] stdError() {
        return stdError.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SageResult r && Arrays.equals(values, r.values) && Arrays.equals(stdError, r.stdError)
                && permutationPairs == r.permutationPairs && evaluations == r.evaluations
                && converged == r.converged;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values) * 31 + Long.hashCode(evaluations);
    }

    @Override
    public String toString() {
        return "SageResult[values=" + Arrays.toString(values) + ", stdError=" + Arrays.toString(stdError)
                + ", permutationPairs=" + permutationPairs + ", evaluations=" + evaluations + ", converged="
                + converged + "]";
    }
}
