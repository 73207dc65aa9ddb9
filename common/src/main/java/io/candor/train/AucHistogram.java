package io.candor.train;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * A mergeable ROC AUC sketch for binary scores in [0, 1] whose memory does not grow with the rows: positives and
 * negatives are counted per bin of the score, and {@link #auc()} is {@link AucCounts}' exact AUC of the binned
 * scores (pairs in one bin count as ties). Bins are relative to the nearer end of [0, 1] — the score, or one minus it
 * above 0.5 — with {@value #MANTISSA_BITS} mantissa bits, so confident scores near 0 or 1 are told apart as finely as
 * scores near 0.5 (about 0.1 % of their distance to the end). At most about 180,000 bins can ever be occupied by
 * float-valued network outputs, whatever the rows.
 *
 * <p>Error bound: a positive and a negative in the same bin are a win or a loss in the exact AUC but count half here,
 * so {@code |auc() - exact| <= }{@link #errorBound()} {@code = sum_b p_b n_b / (2 P N)}, computed from the same counts.
 * Counts are integers, so merging in any order gives the same sketch: the result does not depend on partitioning.
 */
public final class AucHistogram implements Serializable {
    private static final long serialVersionUID = 1L;
    static final int MANTISSA_BITS = 10;
    private static final int SHIFT = 52 - MANTISSA_BITS;
    private static final long HALF = Double.doubleToRawLongBits(0.5) >>> SHIFT;

    private final HashMap<Long, long[]> bins = new HashMap<>();
    private long positives;
    private long negatives;

    /** Counts one row: its positive-class score (NaN-free, in [0, 1]) and whether it is a positive. */
    public AucHistogram add(double score, boolean positive) {
        long[] c = bins.computeIfAbsent(bin(score), k -> new long[2]);
        c[positive ? 0 : 1]++;
        if (positive) {
            positives++;
        } else {
            negatives++;
        }
        return this;
    }

    public AucHistogram merge(AucHistogram other) {
        for (Map.Entry<Long, long[]> e : other.bins.entrySet()) {
            long[] c = bins.computeIfAbsent(e.getKey(), k -> new long[2]);
            c[0] += e.getValue()[0];
            c[1] += e.getValue()[1];
        }
        positives += other.positives;
        negatives += other.negatives;
        return this;
    }

    /** AUC of the binned scores; both classes must occur. */
    public double auc() {
        Iterator<long[]> ascending = bins.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(Map.Entry::getValue).iterator();
        return AucCounts.auc(AucCounts.twiceU(ascending, 0), positives, negatives);
    }

    /** Largest possible |{@link #auc()} − exact AUC|: half the share of (positive, negative) pairs that share a bin. */
    public double errorBound() {
        long tiedPairs = 0;
        for (long[] c : bins.values()) {
            tiedPairs += c[0] * c[1];
        }
        return tiedPairs / (2.0 * positives * negatives);
    }

    /** Bins in score order: the top mantissa bits of the distance to the nearer end, mirrored above 0.5. */
    static long bin(double score) {
        if (!(score >= 0 && score <= 1)) {
            throw new IllegalArgumentException("AUC scores must lie in [0, 1], got " + score);
        }
        double nearEnd = score <= 0.5 ? score : 1 - score;
        long bits = Double.doubleToRawLongBits(nearEnd + 0.0) >>> SHIFT;
        return score <= 0.5 ? bits : 2 * HALF - bits;
    }
}
