package io.candor.audit;

/**
 * The {@code audit} section: which compressed variants the nightly audit builds, how comparisons are summarised, and
 * the thresholds whose breach fails the audit (exit code 4).
 *
 * @param qat     build {@code teacher-int<qat.bits>} by quantization-aware training
 * @param distill build {@code student-fp32}, and {@code student-int<distill.bits>} when {@code distill.quantize}
 * @param topK    features counted in top-k overlaps and in the drift's entered/left lists
 * @param history audit dates, this one included, that the report's drift chart shows
 */
public record AuditSpec(boolean qat, boolean distill, int topK, int history, Thresholds thresholds) {

    /**
     * Limits on the primary test metric (accuracy, or r2 for regression; both higher is better) and on the Spearman
     * rank correlation of permutation importances. A limit out of reach (a drop of 1e9, a correlation of -1) turns
     * a check off.
     *
     * @param maxQuantizedMetricDrop  an integer variant against the fp32 model it was quantized from
     * @param maxStudentMetricDrop    {@code student-fp32} against {@code teacher-fp32}
     * @param minRankCorrelation      every variant's importance ranking against the teacher's
     * @param maxMetricDrift          each variant against itself on the previous audit date
     * @param minDriftRankCorrelation each variant's importance ranking against the previous audit date's
     */
    public record Thresholds(double maxQuantizedMetricDrop, double maxStudentMetricDrop, double minRankCorrelation,
                             double maxMetricDrift, double minDriftRankCorrelation) {
    }
}
