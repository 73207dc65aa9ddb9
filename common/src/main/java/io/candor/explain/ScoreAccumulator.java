package io.candor.explain;

import io.candor.train.Metrics;

import java.io.Serializable;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * Mergeable sufficient statistics of the evaluation metrics, so that each Spark task scores its rows and the
 * driver merges: confusion counts and log-loss sums for classification (plus every score for the exact rank-sum
 * AUC, which has no smaller sufficient statistic), sums of errors and labels for regression. {@link #metrics}
 * equals {@link Metrics} over all rows at once, up to floating-point summation order.
 */
public final class ScoreAccumulator implements Serializable {
    private static final long serialVersionUID = 1L;

    private final boolean classification;
    private final int classes;
    private long n;
    private double logLossSum;
    private long[][] confusion;
    private double[] positiveScores = new double[0];
    private int[] positiveLabels = new int[0];
    private int scored;
    private double squaredError;
    private double absoluteError;
    private double labelSum;
    private double labelSquares;

    public ScoreAccumulator(boolean classification, int classes) {
        this.classification = classification;
        this.classes = classes;
        this.confusion = classification ? new long[classes][classes] : null;
    }

    /** Metric names of a task, in report order. */
    public static List<String> metricNames(boolean classification, int classes) {
        if (!classification) {
            return List.of("rmse", "mae", "r2");
        }
        return classes == 2 ? List.of("accuracy", "log_loss", "macro_f1", "auc") : List.of("accuracy", "log_loss", "macro_f1");
    }

    /** True for losses (smaller is better), so importance = permuted − baseline for them. */
    public static boolean isLoss(String metric) {
        return metric.equals("log_loss") || metric.equals("rmse") || metric.equals("mae");
    }

    /** Adds one row: its model output ({@code outputs} values from {@code offset}) and its label. */
    public void add(double[] output, int offset, double label) {
        n++;
        if (classification) {
            int y = (int) label;
            int predicted = Metrics.argmax(output, offset, classes);
            confusion[y][predicted]++;
            logLossSum += Metrics.rowLogLoss(output[offset + y]);
            if (classes == 2) {
                if (scored == positiveScores.length) {
                    int capacity = Math.max(16, scored * 2);
                    positiveScores = Arrays.copyOf(positiveScores, capacity);
                    positiveLabels = Arrays.copyOf(positiveLabels, capacity);
                }
                positiveScores[scored] = output[offset + 1];
                positiveLabels[scored] = y;
                scored++;
            }
        } else {
            double e = output[offset] - label;
            squaredError += e * e;
            absoluteError += Math.abs(e);
            labelSum += label;
            labelSquares += label * label;
        }
    }

    public ScoreAccumulator merge(ScoreAccumulator other) {
        n += other.n;
        logLossSum += other.logLossSum;
        squaredError += other.squaredError;
        absoluteError += other.absoluteError;
        labelSum += other.labelSum;
        labelSquares += other.labelSquares;
        if (classification) {
            for (int i = 0; i < classes; i++) {
                for (int j = 0; j < classes; j++) {
                    confusion[i][j] += other.confusion[i][j];
                }
            }
            if (classes == 2) {
                positiveScores = Arrays.copyOf(positiveScores, scored + other.scored);
                positiveLabels = Arrays.copyOf(positiveLabels, scored + other.scored);
                System.arraycopy(other.positiveScores, 0, positiveScores, scored, other.scored);
                System.arraycopy(other.positiveLabels, 0, positiveLabels, scored, other.scored);
                scored += other.scored;
            }
        }
        return this;
    }

    public long count() {
        return n;
    }

    /** The metrics of everything added, named as {@link #metricNames}. */
    public LinkedHashMap<String, Double> metrics() {
        if (n == 0) {
            throw new IllegalStateException("no rows scored");
        }
        LinkedHashMap<String, Double> m = new LinkedHashMap<>();
        if (classification) {
            long correct = 0;
            for (int c = 0; c < classes; c++) {
                correct += confusion[c][c];
            }
            m.put("accuracy", correct / (double) n);
            m.put("log_loss", logLossSum / n);
            m.put("macro_f1", Metrics.macroF1(confusion));
            if (classes == 2) {
                m.put("auc", Metrics.rocAuc(Arrays.copyOf(positiveScores, scored), Arrays.copyOf(positiveLabels, scored)));
            }
        } else {
            double mean = labelSum / n;
            double total = labelSquares - n * mean * mean;
            m.put("rmse", Math.sqrt(squaredError / n));
            m.put("mae", absoluteError / n);
            // Same convention as Metrics.r2 for a constant label: 1 if perfect, else 0.
            m.put("r2", total > 0 ? 1 - squaredError / total : (squaredError == 0 ? 1.0 : 0.0));
        }
        return m;
    }
}
