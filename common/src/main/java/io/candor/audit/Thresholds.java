package io.candor.audit;

import io.candor.distill.DistillSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The night's own thresholds: quantized and distilled variants against the models they came from. */
final class Thresholds {
    static final String MAX_QUANTIZED_DROP = "max-quantized-metric-drop";
    static final String MAX_STUDENT_DROP = "max-student-metric-drop";
    static final String MIN_RANK_CORRELATION = "min-rank-correlation";
    static final String MAX_METRIC_DRIFT = "max-metric-drift";
    static final String MIN_DRIFT_RANK_CORRELATION = "min-drift-rank-correlation";

    private Thresholds() {
    }

    static List<AuditWorkflow.Breach> night(AuditSpec.Thresholds limits, AuditWorkflow.Night night, String teacher,
                                            List<VariantComparison.Pair> pairs) {
        List<AuditWorkflow.Breach> breaches = new ArrayList<>();
        String metric = night.primaryMetric();
        for (String variant : night.variants()) {
            String source = quantizedFrom(variant, teacher);
            if (source != null && night.variants().contains(source)) {
                drop(breaches, MAX_QUANTIZED_DROP, variant, source, metric, night.metric(source), night.metric(variant),
                        limits.maxQuantizedMetricDrop());
            }
        }
        if (night.variants().contains(DistillSpec.STUDENT_FP32)) {
            drop(breaches, MAX_STUDENT_DROP, DistillSpec.STUDENT_FP32, teacher, metric, night.metric(teacher),
                    night.metric(DistillSpec.STUDENT_FP32), limits.maxStudentMetricDrop());
        }
        for (VariantComparison.Pair p : pairs) {
            if (p.a().equals(teacher) && p.spearmanPermutation() < limits.minRankCorrelation()) {
                breaches.add(new AuditWorkflow.Breach(MIN_RANK_CORRELATION, p.b(), p.spearmanPermutation(),
                        limits.minRankCorrelation(), String.format(Locale.ROOT,
                        "%s ranks features unlike %s: Spearman %.3f of %s importances, below the limit %.3f",
                        p.b(), teacher, p.spearmanPermutation(), night.importanceMetric(), limits.minRankCorrelation())));
            }
        }
        return breaches;
    }

    /** Records a breach when {@code after} fell more than {@code limit} below {@code before}. */
    static void drop(List<AuditWorkflow.Breach> breaches, String threshold, String subject, String against,
                     String metric, double before, double after, double limit) {
        double drop = before - after;
        if (drop > limit) {
            breaches.add(new AuditWorkflow.Breach(threshold, subject, drop, limit, String.format(Locale.ROOT,
                    "%s %s is %.4f against %.4f for %s: a drop of %.4f, above the limit %.4f", subject, metric, after,
                    before, against, drop, limit)));
        }
    }

    /** The fp32 variant an integer variant was quantized from, or null. */
    static String quantizedFrom(String variant, String teacher) {
        if (variant.startsWith("teacher-int")) {
            return teacher;
        }
        if (variant.startsWith("student-int")) {
            return DistillSpec.STUDENT_FP32;
        }
        return null;
    }
}
