package io.candor.explain;

import io.candor.train.AucHistogram;
import io.candor.train.MetricStats;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * Mergeable statistics of the evaluation metrics of one (baseline or permuted) scoring, so that each Spark task scores
 * its rows and the partial results merge in any order: {@link MetricStats} (confusion counts and exact sums, so
 * accuracy, log-loss, macro-F1, RMSE, MAE and R² equal {@link io.candor.train.Metrics} over all rows, bit for bit)
 * and, for two classes, an {@link AucHistogram}, whose size does not grow with the rows; its AUC is within
 * {@link #aucErrorBound()} of the exact one.
 */
public final class ScoreAccumulator implements Serializable {
    private static final long serialVersionUID = 1L;

    private final MetricStats stats;
    private final AucHistogram auc;
    private final boolean classification;

    public ScoreAccumulator(boolean classification, int classes) {
        this.classification = classification;
        this.stats = classification ? MetricStats.classification(classes) : MetricStats.regression();
        this.auc = classification && classes == 2 ? new AucHistogram() : null;
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
        if (!classification) {
            stats.add(output[offset], label);
            return;
        }
        stats.add(output, offset, (int) label);
        if (auc != null) {
            auc.add(output[offset + 1], label == 1);
        }
    }

    public ScoreAccumulator merge(ScoreAccumulator other) {
        stats.merge(other.stats);
        if (auc != null) {
            auc.merge(other.auc);
        }
        return this;
    }

    public long count() {
        return stats.rows();
    }

    /** Largest possible difference between the reported AUC and the exact one; 0 without AUC. */
    public double aucErrorBound() {
        return auc == null ? 0 : auc.errorBound();
    }

    /** The metrics of everything added, named as {@link #metricNames}. */
    public LinkedHashMap<String, Double> metrics() {
        if (stats.rows() == 0) {
            throw new IllegalStateException("no rows scored");
        }
        LinkedHashMap<String, Double> m = stats.metrics();
        if (auc != null) {
            m.put("auc", auc.auc());
        }
        return m;
    }
}
