package io.candor.train;

import java.util.Arrays;
import java.util.Iterator;

/**
 * Exact ROC AUC from the number of positives and negatives at each distinct score: with the scores in ascending order,
 * a score holding {@code p} positives and {@code m} negatives, above {@code below} negatives, adds
 * {@code p·(2·below + m)} to twice the Mann–Whitney U (a win counts 2, a tie 1), and AUC = 2U / (2·P·N). Twice U is an
 * integer summed in a long, the same integer the rank-sum formula with average ranks gives, so the AUC does not depend
 * on how the scores were split: a distributed caller counts per score, sorts the scores, and sums this over sorted
 * partitions given the negatives of the partitions before each. {@code -0.0} and {@code 0.0} are one score.
 */
public final class AucCounts {
    private AucCounts() {
    }

    /** The score as a tie key: {@code -0.0} becomes {@code 0.0}, so the two count as one score. */
    public static double key(double score) {
        return score + 0.0;
    }

    /**
     * Twice U contributed by distinct scores given in ascending order, each as {@code {positives, negatives}}, when
     * {@code negativesBelow} negatives scored below the first of them.
     */
    public static long twiceU(Iterator<long[]> ascending, long negativesBelow) {
        long twiceU = 0;
        long below = negativesBelow;
        while (ascending.hasNext()) {
            long[] c = ascending.next();
            twiceU += c[0] * (2 * below + c[1]);
            below += c[1];
        }
        return twiceU;
    }

    /** AUC from twice U; both classes must occur. */
    public static double auc(long twiceU, long positives, long negatives) {
        if (positives <= 0 || negatives <= 0) {
            throw new IllegalArgumentException("AUC needs both classes but there are " + positives + " positives and "
                    + negatives + " negatives");
        }
        return twiceU / (2.0 * positives * negatives);
    }

    /** AUC of scores, NaN-free, with labels that are all 0 or 1 (checked by {@link Metrics#rocAuc}); O(n log n). */
    static double auc(double[] scores, int[] labels01) {
        int positives = 0;
        for (int label : labels01) {
            positives += label;
        }
        double[] pos = new double[positives];
        double[] neg = new double[labels01.length - positives];
        int p = 0;
        int q = 0;
        for (int i = 0; i < scores.length; i++) {
            if (labels01[i] == 1) {
                pos[p++] = key(scores[i]);
            } else {
                neg[q++] = key(scores[i]);
            }
        }
        Arrays.sort(pos);
        Arrays.sort(neg);
        return auc(twiceU(new DistinctScores(pos, neg), 0), pos.length, neg.length);
    }

    /** The distinct scores of two ascending arrays, merged, each with its count in either. */
    private static final class DistinctScores implements Iterator<long[]> {
        private final double[] pos;
        private final double[] neg;
        private int i;
        private int j;

        DistinctScores(double[] pos, double[] neg) {
            this.pos = pos;
            this.neg = neg;
        }

        @Override
        public boolean hasNext() {
            return i < pos.length || j < neg.length;
        }

        @Override
        public long[] next() {
            double score = i == pos.length ? neg[j] : j == neg.length ? pos[i] : Math.min(pos[i], neg[j]);
            long p = 0;
            long m = 0;
            while (i < pos.length && pos[i] == score) {
                i++;
                p++;
            }
            while (j < neg.length && neg[j] == score) {
                j++;
                m++;
            }
            return new long[] {p, m};
        }
    }
}
