package io.candor.train;

import io.candor.util.ExactSum;

import java.io.Serializable;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.LinkedHashMap;

/**
 * Mergeable sufficient statistics of the {@link Metrics}: each Spark task adds its rows, the driver merges one object
 * per task and reads the metrics. Classification keeps the confusion counts and the exact sum of the rows' log-losses;
 * regression keeps exact sums of the residuals' squares and magnitudes and of the labels and their squares. Counts
 * are longs and sums are {@link ExactSum}s, so the metrics are the same doubles, bit for bit, whatever the
 * partitioning and the order of merges; the array API in {@link Metrics} computes through this class too. The object
 * holds O(classes²) numbers, never rows. Not thread-safe; {@link #add} and {@link #merge} return {@code this}.
 */
public final class MetricStats implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Precision of the one ratio computed in decimal (R²) before its rounding to a double. */
    private static final MathContext RATIO = MathContext.DECIMAL128;

    private final boolean classification;
    private final long[][] confusion; // [label][predicted]; classification only
    private final ExactSum logLoss = new ExactSum();
    private final ExactSum squaredError = new ExactSum();
    private final ExactSum absoluteError = new ExactSum();
    private final ExactSum labels = new ExactSum();
    private final ExactSum labelSquares = new ExactSum();
    private long rows;

    private MetricStats(boolean classification, int numClasses) {
        this.classification = classification;
        this.confusion = classification ? new long[numClasses][numClasses] : null;
    }

    /** Empty statistics of a {@code numClasses}-class classifier. */
    public static MetricStats classification(int numClasses) {
        if (numClasses <= 0) {
            throw new IllegalArgumentException("numClasses must be positive but is " + numClasses);
        }
        return new MetricStats(true, numClasses);
    }

    /** Empty statistics of a regressor. */
    public static MetricStats regression() {
        return new MetricStats(false, 0);
    }

    /**
     * Adds a classified row: its class probabilities (one per class, NaN-free) and its label in {@code [0, classes)}.
     */
    public MetricStats add(double[] probs, int label) {
        int k = confusion.length;
        if (probs.length != k) {
            throw new IllegalArgumentException("a row has " + probs.length + " probabilities but numClasses is " + k);
        }
        return add(probs, 0, label);
    }

    /** As {@link #add(double[], int)}, the row's probabilities being {@code values[offset .. offset + classes)}. */
    public MetricStats add(double[] probs, int offset, int label) {
        int k = confusion.length;
        if (label < 0 || label >= k) {
            throw new IllegalArgumentException("label " + label + " is outside [0, " + k + ")");
        }
        for (int j = 0; j < k; j++) {
            if (Double.isNaN(probs[offset + j])) {
                throw new IllegalArgumentException("probability " + j + " of a row is NaN");
            }
        }
        confusion[label][Metrics.argmax(probs, offset, k)]++;
        logLoss.add(Metrics.rowLogLoss(probs[offset + label]));
        rows++;
        return this;
    }

    /** Adds a regressed row: its prediction and label, both finite. */
    public MetricStats add(double predicted, double label) {
        double residual = predicted - label;
        if (!Double.isFinite(residual)) {
            throw new IllegalArgumentException("prediction " + predicted + " or label " + label + " is not finite");
        }
        squaredError.addProduct(residual, residual);
        absoluteError.add(Math.abs(residual));
        labels.add(label);
        labelSquares.addProduct(label, label);
        rows++;
        return this;
    }

    /** Adds every row counted by {@code other} (statistics of the same task); {@code other} is unchanged. */
    public MetricStats merge(MetricStats other) {
        if (classification != other.classification
                || (classification && confusion.length != other.confusion.length)) {
            throw new IllegalArgumentException("cannot merge statistics of different tasks");
        }
        if (classification) {
            for (int i = 0; i < confusion.length; i++) {
                for (int j = 0; j < confusion.length; j++) {
                    confusion[i][j] += other.confusion[i][j];
                }
            }
        }
        logLoss.merge(other.logLoss);
        squaredError.merge(other.squaredError);
        absoluteError.merge(other.absoluteError);
        labels.merge(other.labels);
        labelSquares.merge(other.labelSquares);
        rows += other.rows;
        return this;
    }

    public long rows() {
        return rows;
    }

    /** Rows whose label is {@code label} (classification). */
    public long labelled(int label) {
        long n = 0;
        for (long c : classifying()[label]) {
            n += c;
        }
        return n;
    }

    public double accuracy() {
        long[][] c = classifying();
        long correct = 0;
        for (int i = 0; i < c.length; i++) {
            correct += c[i][i];
        }
        return (double) correct / counted();
    }

    public double logLoss() {
        classifying();
        return logLoss.doubleValue() / counted();
    }

    public double macroF1() {
        return Metrics.macroF1(classifying());
    }

    public double rmse() {
        regressing();
        return Math.sqrt(squaredError.doubleValue() / counted());
    }

    public double mae() {
        regressing();
        return absoluteError.doubleValue() / counted();
    }

    /**
     * 1 − SS_res / SS_tot with both sums exact: {@code n·SS_tot = n·Σy² − (Σy)²} in decimal arithmetic, so no
     * cancellation whatever the labels' mean. Constant labels (SS_tot exactly 0) give 1 for a perfect prediction and 0
     * otherwise, scikit-learn's {@code force_finite} convention.
     */
    public double r2() {
        regressing();
        BigDecimal n = BigDecimal.valueOf(counted());
        BigDecimal ssRes = squaredError.bigDecimalValue();
        BigDecimal nSsTot = nTimesLabelSquaredDeviations();
        if (nSsTot.signum() == 0) {
            return ssRes.signum() == 0 ? 1.0 : 0.0;
        }
        return BigDecimal.ONE.subtract(n.multiply(ssRes).divide(nSsTot, RATIO)).doubleValue();
    }

    /** The labels' population standard deviation, sqrt(SS_tot / n), from the exact sums (regression). */
    public double labelStd() {
        regressing();
        BigDecimal n = BigDecimal.valueOf(counted());
        return Math.sqrt(nTimesLabelSquaredDeviations().divide(n.multiply(n), RATIO).doubleValue());
    }

    /** accuracy, log_loss, macro_f1 for classification (AUC needs the scores: see {@link AucCounts}); rmse, mae, r2. */
    public LinkedHashMap<String, Double> metrics() {
        LinkedHashMap<String, Double> out = new LinkedHashMap<>();
        if (classification) {
            out.put("accuracy", accuracy());
            out.put("log_loss", logLoss());
            out.put("macro_f1", macroF1());
        } else {
            out.put("rmse", rmse());
            out.put("mae", mae());
            out.put("r2", r2());
        }
        return out;
    }

    private BigDecimal nTimesLabelSquaredDeviations() {
        BigDecimal sum = labels.bigDecimalValue();
        return BigDecimal.valueOf(rows).multiply(labelSquares.bigDecimalValue()).subtract(sum.multiply(sum));
    }

    private long counted() {
        if (rows == 0) {
            throw new IllegalArgumentException("no rows were counted (expected at least one)");
        }
        return rows;
    }

    private long[][] classifying() {
        if (!classification) {
            throw new IllegalStateException("classification metric asked of regression statistics");
        }
        return confusion;
    }

    private void regressing() {
        if (classification) {
            throw new IllegalStateException("regression metric asked of classification statistics");
        }
    }
}
