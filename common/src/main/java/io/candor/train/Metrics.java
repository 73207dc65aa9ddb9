package io.candor.train;

import java.util.LinkedHashMap;

/**
 * Evaluation metrics computed exactly over whole arrays, so a split's numbers do not depend on how Spark partitioned it
 * (no per-partition averaging). Pure Java, no Spark or ND4J, so the numbers can be checked against simple references.
 *
 * <p>Contract, for every method:
 * <ul>
 *   <li>inputs must be non-empty, of matching lengths and free of NaN; {@code probs} is a rectangular n&times;k array
 *       and every label lies in {@code [0, k)} — otherwise {@link IllegalArgumentException} with a message naming the
 *       argument and the offending values;</li>
 *   <li>the predicted class is the argmax of a row, ties going to the lowest index;</li>
 *   <li>probabilities are used as given (never renormalised); log-loss clips them to {@code [1e-15, 1 - 1e-15]};</li>
 *   <li>macro-F1 averages over the classes present in the labels or the predictions, as scikit-learn's
 *       {@code f1_score(average="macro")} does when it is not given an explicit label list;</li>
 *   <li>AUC is exact (rank-sum with average ranks for ties) and needs both classes present;</li>
 *   <li>sums are exact and rounded once ({@link MetricStats}), so a metric is the same double as the one the
 *       distributed path merges from per-partition statistics;</li>
 *   <li>R² follows scikit-learn's {@code force_finite} convention when the targets are constant.</li>
 * </ul>
 * Arguments are read, never modified.
 */
public final class Metrics {
    private static final double EPS = 1e-15;

    private Metrics() {
    }

    /** Fraction of rows whose argmax equals the label. */
    public static double accuracy(double[][] probs, int[] labels) {
        int k = checkProbs(probs, labels, -1);
        checkLabels(labels, k);
        return stats(probs, labels, k).accuracy();
    }

    /** Mean of {@code -ln p[label]} with {@code p} clipped to {@code [1e-15, 1 - 1e-15]}. */
    public static double logLoss(double[][] probs, int[] labels) {
        int k = checkProbs(probs, labels, -1);
        checkLabels(labels, k);
        return stats(probs, labels, k).logLoss();
    }

    /**
     * Unweighted mean of the per-class F1 = 2TP / (2TP + FP + FN), over the classes that occur in {@code labels} or
     * among the predicted classes. A class that occurs in only one of them has TP = 0 and contributes F1 = 0; a class
     * in {@code [0, numClasses)} that occurs in neither is skipped rather than counted as 0 (its F1 would be 0/0).
     * This matches scikit-learn, which averages over the labels present in {@code y_true} and {@code y_pred}.
     */
    public static double macroF1(double[][] probs, int[] labels, int numClasses) {
        checkNumClasses(numClasses);
        checkProbs(probs, labels, numClasses);
        checkLabels(labels, numClasses);
        return stats(probs, labels, numClasses).macroF1();
    }

    /**
     * Area under the ROC curve, {@code P(score_pos > score_neg) + P(score_pos == score_neg) / 2}: twice the
     * Mann–Whitney U counted exactly per distinct score ({@link AucCounts}), the same integer as the rank-sum with
     * average ranks for tied scores; O(n log n).
     *
     * @param labels01 1 for the positive class, 0 for the negative; both must occur
     */
    public static double rocAuc(double[] scores, int[] labels01) {
        checkNotEmpty(scores, "scores");
        checkNotNull(labels01, "labels01");
        checkArgument(scores.length == labels01.length, "scores has %s entries but labels01 has %s",
                scores.length, labels01.length);
        checkNoNaN(scores, "scores");
        long positives = 0;
        for (int i = 0; i < labels01.length; i++) {
            if (labels01[i] != 0 && labels01[i] != 1) {
                throw new IllegalArgumentException("labels01[" + i + "] = " + labels01[i] + " is neither 0 nor 1");
            }
            positives += labels01[i];
        }
        long negatives = labels01.length - positives;
        checkArgument(positives > 0 && negatives > 0,
                "rocAuc needs both classes but labels01 has %s positives and %s negatives", positives, negatives);
        return AucCounts.auc(scores, labels01);
    }

    /** Root mean squared error. */
    public static double rmse(double[] pred, double[] y) {
        checkRegression(pred, y);
        return stats(pred, y).rmse();
    }

    /** Mean absolute error. */
    public static double mae(double[] pred, double[] y) {
        checkRegression(pred, y);
        return stats(pred, y).mae();
    }

    /**
     * Coefficient of determination 1 − SS_res / SS_tot. When {@code y} is constant (SS_tot = 0, e.g. a single row) the
     * ratio is undefined; like scikit-learn's default {@code force_finite=True} this returns 1 for a perfect prediction
     * and 0 otherwise, so a metrics table never holds NaN or −∞. SS_tot is exact ({@link MetricStats#r2}), so
     * constant targets are recognised whatever their value.
     */
    public static double r2(double[] pred, double[] y) {
        checkRegression(pred, y);
        return stats(pred, y).r2();
    }

    /**
     * {@code accuracy}, {@code log_loss}, {@code macro_f1} and, for {@code numClasses == 2}, {@code auc} (scored by
     * {@code probs[i][1]}; throws if the rows hold only one class).
     */
    public static LinkedHashMap<String, Double> classification(double[][] probs, int[] labels, int numClasses) {
        checkNumClasses(numClasses);
        checkProbs(probs, labels, numClasses);
        checkLabels(labels, numClasses);
        LinkedHashMap<String, Double> out = stats(probs, labels, numClasses).metrics();
        if (numClasses == 2) {
            double[] scores = new double[probs.length];
            for (int i = 0; i < scores.length; i++) {
                scores[i] = probs[i][1];
            }
            out.put("auc", rocAuc(scores, labels));
        }
        return out;
    }

    /** {@code rmse}, {@code mae} and {@code r2}. */
    public static LinkedHashMap<String, Double> regression(double[] pred, double[] y) {
        checkRegression(pred, y);
        return stats(pred, y).metrics();
    }

    /** The statistics of checked arrays: the same class, so the same numbers, as the distributed path. */
    private static MetricStats stats(double[][] probs, int[] labels, int numClasses) {
        MetricStats stats = MetricStats.classification(numClasses);
        for (int i = 0; i < labels.length; i++) {
            stats.add(probs[i], labels[i]);
        }
        return stats;
    }

    private static MetricStats stats(double[] pred, double[] y) {
        MetricStats stats = MetricStats.regression();
        for (int i = 0; i < y.length; i++) {
            stats.add(pred[i], y[i]);
        }
        return stats;
    }

    /**
     * Macro-F1 from a confusion matrix ({@code confusion[label][predicted]}), averaged over the classes that occur as
     * a label or a prediction. Lets distributed callers merge counts and get exactly the whole-array value.
     */
    public static double macroF1(long[][] confusion) {
        int numClasses = confusion.length;
        double sum = 0;
        int present = 0;
        for (int c = 0; c < numClasses; c++) {
            long tp = confusion[c][c];
            long fp = 0;
            long fn = 0;
            for (int k = 0; k < numClasses; k++) {
                if (k != c) {
                    fp += confusion[k][c];
                    fn += confusion[c][k];
                }
            }
            long denominator = 2 * tp + fp + fn;
            if (denominator == 0) {
                continue; // neither a label nor a prediction: see macroF1's Javadoc
            }
            sum += 2.0 * tp / denominator;
            present++;
        }
        if (present == 0) {
            throw new IllegalArgumentException("confusion matrix is empty (expected at least one row counted)");
        }
        return sum / present;
    }

    /** The log-loss of one row: −log of the label's probability, clipped to [1e-15, 1 − 1e-15]. */
    public static double rowLogLoss(double labelProbability) {
        return -Math.log(Math.min(Math.max(labelProbability, EPS), 1 - EPS));
    }

    /** Index of the largest value; ties go to the lowest index. */
    public static int argmax(double[] values, int offset, int length) {
        int best = 0;
        for (int j = 1; j < length; j++) {
            if (values[offset + j] > values[offset + best]) {
                best = j;
            }
        }
        return best;
    }

    /**
     * Checks that {@code probs} is a non-empty, NaN-free rectangular array with one row per label and, when
     * {@code numClasses >= 0}, that many columns; returns the column count.
     */
    private static int checkProbs(double[][] probs, int[] labels, int numClasses) {
        checkNotNull(probs, "probs");
        checkNotNull(labels, "labels");
        checkArgument(probs.length > 0, "probs is empty");
        checkArgument(probs.length == labels.length, "probs has %s rows but labels has %s",
                probs.length, labels.length);
        checkNotNull(probs[0], "probs[0]");
        int k = numClasses >= 0 ? numClasses : probs[0].length;
        checkArgument(k > 0, "probs[0] has no columns");
        for (int i = 0; i < probs.length; i++) {
            double[] row = probs[i];
            if (row == null) {
                throw new IllegalArgumentException("probs[" + i + "] is null");
            }
            if (row.length != k) {
                throw new IllegalArgumentException(numClasses >= 0
                        ? "probs[" + i + "] has " + row.length + " columns but numClasses is " + numClasses
                        : "probs[" + i + "] has " + row.length + " columns but probs[0] has " + k);
            }
            for (int j = 0; j < k; j++) {
                if (Double.isNaN(row[j])) {
                    throw new IllegalArgumentException("probs[" + i + "][" + j + "] is NaN");
                }
            }
        }
        return k;
    }

    private static void checkLabels(int[] labels, int numClasses) {
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= numClasses) {
                throw new IllegalArgumentException(
                        "labels[" + i + "] = " + labels[i] + " is outside [0, " + numClasses + ")");
            }
        }
    }

    private static void checkNumClasses(int numClasses) {
        checkArgument(numClasses > 0, "numClasses must be positive but is %s", numClasses);
    }

    private static void checkRegression(double[] pred, double[] y) {
        checkNotEmpty(pred, "pred");
        checkNotNull(y, "y");
        checkArgument(pred.length == y.length, "pred has %s entries but y has %s", pred.length, y.length);
        checkNoNaN(pred, "pred");
        checkNoNaN(y, "y");
    }

    private static void checkNotEmpty(double[] a, String name) {
        checkNotNull(a, name);
        checkArgument(a.length > 0, "%s is empty", name);
    }

    private static void checkNoNaN(double[] a, String name) {
        for (int i = 0; i < a.length; i++) {
            if (Double.isNaN(a[i])) {
                throw new IllegalArgumentException(name + "[" + i + "] is NaN");
            }
        }
    }

    private static void checkNotNull(Object o, String name) {
        if (o == null) {
            throw new IllegalArgumentException(name + " is null");
        }
    }

    private static void checkArgument(boolean ok, String template, Object... args) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(template, args));
        }
    }
}
