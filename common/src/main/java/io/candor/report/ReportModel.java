package io.candor.report;

import java.util.List;
import java.util.Objects;

/**
 * Everything one audit date's HTML report shows, as plain values (no Spark types), so that the report can be
 * rendered and tested without a SparkSession. Numbers that are not available are {@code NaN}; the report shows
 * them as "n/a". Lists are copied and immutable; an empty list renders as a "no data yet" note.
 *
 * @param task       {@code classification} or {@code regression}; picks the primary metric (accuracy or r2)
 * @param variants   display order, e.g. teacher-fp32, teacher-int8, student-fp32, student-int8; the first is the
 *                   reference for compression ratios and feature order
 * @param metrics    one per (variant, split, metric)
 * @param importance permutation importance, one per (variant, feature, metric)
 * @param globalShapley one per (variant, feature, method in {mean_abs_shap, sage}, output)
 * @param shap       beeswarm points: one per (variant, row, feature) for one output
 * @param comparisons one per ordered pair (a, b), a before b in {@code variants}
 * @param drift      against the previous audit date, per variant; empty on the first night
 * @param history    metric per (audit date, variant) over the last nights, this one included
 * @param breaches   thresholds breached this night; empty means the audit passed
 */
public record ReportModel(String model, String auditDate, String runId, String generatedAt, String task,
                          List<String> variants,
                          List<Metric> metrics,
                          List<Importance> importance,
                          List<GlobalShapley> globalShapley,
                          List<ShapPoint> shap,
                          List<Comparison> comparisons,
                          List<DriftRow> drift,
                          List<HistoryPoint> history,
                          List<Breach> breaches) {

    public static final String CLASSIFICATION = "classification";
    public static final String REGRESSION = "regression";

    public ReportModel {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(auditDate, "auditDate");
        Objects.requireNonNull(runId, "runId");
        Objects.requireNonNull(generatedAt, "generatedAt");
        if (!CLASSIFICATION.equals(task) && !REGRESSION.equals(task)) {
            throw new IllegalArgumentException("task: '" + task + "' is neither '" + CLASSIFICATION
                    + "' nor '" + REGRESSION + "'");
        }
        variants = List.copyOf(variants);
        metrics = List.copyOf(metrics);
        importance = List.copyOf(importance);
        globalShapley = List.copyOf(globalShapley);
        shap = List.copyOf(shap);
        comparisons = List.copyOf(comparisons);
        drift = List.copyOf(drift);
        history = List.copyOf(history);
        breaches = List.copyOf(breaches);
    }

    /** True when no threshold was breached. */
    public boolean passed() {
        return breaches.isEmpty();
    }

    /** {@code bits} is the weight precision (32 for fp32, 8 for int8). */
    public record Metric(String variant, String split, String metric, double value, long sizeBytes,
                         long parameterCount, int bits) {}

    /** Mean drop in {@code metric} when the feature is permuted, with its confidence interval; rank 1 = most important. */
    public record Importance(String variant, String feature, String metric, double mean, double ciLow, double ciHigh,
                             int rank) {}

    /** {@code method} is {@code mean_abs_shap} or {@code sage}. */
    public record GlobalShapley(String variant, String feature, String method, int output, double value,
                                double stdError) {}

    /** One KernelSHAP value; {@code featureValue} is NaN when the feature is not numeric. */
    public record ShapPoint(String variant, String feature, long rowId, double phi, double featureValue) {}

    /**
     * Agreement between two variants. {@code metricDelta} is b minus a on the primary metric; the rank correlations
     * and top-k overlap compare importance from {@code importanceSource} ({@code permutation} or {@code sage}).
     */
    public record Comparison(String variantA, String variantB, double predictionAgreement, double metricDelta,
                             double spearman, double kendall, double topKOverlap, double shapCosine,
                             String importanceSource) {}

    /** Change of one variant against the previous audit date. */
    public record DriftRow(String variant, String previousDate, String metric, double previous, double current,
                           double delta, double rankCorrelation, List<String> enteredTopK, List<String> leftTopK) {
        public DriftRow {
            enteredTopK = List.copyOf(enteredTopK);
            leftTopK = List.copyOf(leftTopK);
        }
    }

    public record HistoryPoint(String auditDate, String variant, String metric, double value) {}

    /** One threshold breached: e.g. threshold {@code max_accuracy_drop}, subject {@code student-int8}. */
    public record Breach(String threshold, String subject, double value, double limit, String message) {}
}
