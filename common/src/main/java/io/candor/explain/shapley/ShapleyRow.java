package io.candor.explain.shapley;

import java.util.Arrays;

/**
 * One row's Shapley values for one model output: a row of the {@code shap_values} table.
 *
 * @param rowId the row's stable id (also the seed id of its random draws)
 * @param output the explained output (class index; 0 for regression)
 * @param baseValue {@code E_bg[f]}, the value of the empty coalition
 * @param prediction {@code f(x)}, the value of the grand coalition; {@code Σ phi + baseValue = prediction}
 * @param phi one value per player, in player order
 * @param stdError one standard error per player (0 where exact; NaN where the samples cannot estimate it)
 * @param evaluations model rows evaluated for this row (the base value's rows are shared and not counted)
 * @param converged whether the largest standard error is within the estimator's tolerance (always true when exact)
 */
public record ShapleyRow(long rowId, int output, double baseValue, double prediction, double[] phi,
                         double[] stdError, long evaluations, boolean converged) implements java.io.Serializable {
    public ShapleyRow {
        phi = phi.clone();
        stdError = stdError.clone();
        if (phi.length != stdError.length) {
            throw new IllegalArgumentException("stdError: " + stdError.length + " values; expected one per phi ("
                    + phi.length + ")");
        }
    }

    @Override
    public double[] phi() {
        return phi.clone();
    }

    @Override
    public double[] stdError() {
        return stdError.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ShapleyRow r && rowId == r.rowId && output == r.output
                && Double.compare(baseValue, r.baseValue) == 0 && Double.compare(prediction, r.prediction) == 0
                && Arrays.equals(phi, r.phi) && Arrays.equals(stdError, r.stdError)
                && evaluations == r.evaluations && converged == r.converged;
    }

    @Override
    public int hashCode() {
        return 31 * Long.hashCode(rowId) + 17 * output + Arrays.hashCode(phi);
    }

    @Override
    public String toString() {
        return "ShapleyRow[rowId=" + rowId + ", output=" + output + ", baseValue=" + baseValue + ", prediction="
                + prediction + ", phi=" + Arrays.toString(phi) + ", stdError=" + Arrays.toString(stdError)
                + ", evaluations=" + evaluations + ", converged=" + converged + "]";
    }
}
