package io.candor.train;

import java.io.Serializable;
import java.util.Iterator;

/**
 * A mergeable ROC AUC sketch for binary scores in [0, 1] whose memory does not grow with the rows: positives and
 * negatives are counted per bin of the score, and {@link #auc()} is {@link AucCounts}' exact AUC of the binned
 * scores (pairs in one bin count as ties). Bins are relative to the nearer end of [0, 1] — the score, or one minus it
 * above 0.5 — with {@value #MANTISSA_BITS} mantissa bits, so confident scores near 0 or 1 are told apart as finely as
 * scores near 0.5 (about 1.6 % of their distance to the end). At most about 11,000 bins can ever be occupied by
 * float-valued network outputs, whatever the rows.
 *
 * <p>Error bound: a positive and a negative in the same bin are a win or a loss in the exact AUC but count half here,
 * so {@code |auc() - exact| <= }{@link #errorBound()} {@code = sum_b p_b n_b / (2 P N)}, computed from the same counts.
 * Counts are integers, so merging in any order gives the same sketch: the result does not depend on partitioning.
 */
public final class AucHistogram implements Serializable {
    private static final long serialVersionUID = 2L;
    static final int MANTISSA_BITS = 6;
    private static final int SHIFT = 52 - MANTISSA_BITS;
    private static final long HALF = Double.doubleToRawLongBits(0.5) >>> SHIFT;
    /** Rows buffered before they are sorted into the bins: adding a row is an array write, not a map lookup. */
    private static final int PENDING = 4096;

    // The bins, ascending, with their counts; every row is either here or in pending.
    private long[] bins = new long[0];
    private long[] positivesPerBin = new long[0];
    private long[] negativesPerBin = new long[0];
    private long[] pending = new long[0]; // bin << 1 | 1 for a positive
    private int pendingRows;
    private long positives;
    private long negatives;

    /** Counts one row: its positive-class score (NaN-free, in [0, 1]) and whether it is a positive. */
    public AucHistogram add(double score, boolean positive) {
        if (pendingRows == pending.length) {
            if (pendingRows >= PENDING) {
                flush();
            } else {
                pending = java.util.Arrays.copyOf(pending, Math.max(16, Math.min(PENDING, 2 * pendingRows)));
            }
        }
        pending[pendingRows++] = bin(score) << 1 | (positive ? 1 : 0);
        if (positive) {
            positives++;
        } else {
            negatives++;
        }
        return this;
    }

    public AucHistogram merge(AucHistogram other) {
        flush();
        other.flush();
        mergeSorted(other.bins, other.positivesPerBin, other.negativesPerBin, other.bins.length);
        positives += other.positives;
        negatives += other.negatives;
        return this;
    }

    /** AUC of the binned scores; both classes must occur. */
    public double auc() {
        flush();
        Iterator<long[]> ascending = new Iterator<>() {
            private int i;

            @Override
            public boolean hasNext() {
                return i < bins.length;
            }

            @Override
            public long[] next() {
                long[] c = {positivesPerBin[i], negativesPerBin[i]};
                i++;
                return c;
            }
        };
        return AucCounts.auc(AucCounts.twiceU(ascending, 0), positives, negatives);
    }

    /** Largest possible |{@link #auc()} − exact AUC|: half the share of (positive, negative) pairs that share a bin. */
    public double errorBound() {
        flush();
        long tiedPairs = 0;
        for (int i = 0; i < bins.length; i++) {
            tiedPairs += positivesPerBin[i] * negativesPerBin[i];
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

    /** Sorts the buffered rows into runs of one bin and merges them into the bins. */
    private void flush() {
        if (pendingRows == 0) {
            return;
        }
        java.util.Arrays.sort(pending, 0, pendingRows);
        long[] b = new long[pendingRows];
        long[] p = new long[pendingRows];
        long[] n = new long[pendingRows];
        int runs = -1;
        long last = -1;
        for (int i = 0; i < pendingRows; i++) {
            long bin = pending[i] >>> 1;
            if (bin != last) {
                runs++;
                b[runs] = bin;
                last = bin;
            }
            if ((pending[i] & 1) == 1) {
                p[runs]++;
            } else {
                n[runs]++;
            }
        }
        pendingRows = 0;
        mergeSorted(b, p, n, runs + 1);
    }

    private void mergeSorted(long[] b, long[] p, long[] n, int length) {
        long[] mb = new long[bins.length + length];
        long[] mp = new long[mb.length];
        long[] mn = new long[mb.length];
        int i = 0;
        int j = 0;
        int k = 0;
        while (i < bins.length || j < length) {
            if (j == length || (i < bins.length && bins[i] < b[j])) {
                mb[k] = bins[i];
                mp[k] = positivesPerBin[i];
                mn[k++] = negativesPerBin[i++];
            } else if (i == bins.length || b[j] < bins[i]) {
                mb[k] = b[j];
                mp[k] = p[j];
                mn[k++] = n[j++];
            } else {
                mb[k] = bins[i];
                mp[k] = positivesPerBin[i] + p[j];
                mn[k++] = negativesPerBin[i++] + n[j++];
            }
        }
        bins = java.util.Arrays.copyOf(mb, k);
        positivesPerBin = java.util.Arrays.copyOf(mp, k);
        negativesPerBin = java.util.Arrays.copyOf(mn, k);
    }

    /** Serialised with the rows sorted into bins and no buffer: smaller, and what the receiver merges. */
    private void writeObject(java.io.ObjectOutputStream out) throws java.io.IOException {
        flush();
        pending = new long[0];
        out.defaultWriteObject();
    }
}
