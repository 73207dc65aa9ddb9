package io.candor.audit;

import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * How far two importance rankings, or two attribution vectors, agree. Rank correlations are over the features both
 * sides have, with ties given their average rank; NaN when either side has no variation (nothing to correlate).
 */
public final class RankAgreement {
    private RankAgreement() {
    }

    /** Spearman's rho: Pearson's correlation of the average ranks. */
    public static double spearman(double[] x, double[] y) {
        return pearson(ranks(x), ranks(y));
    }

    /** Kendall's tau-b, which corrects for ties on either side. */
    public static double kendall(double[] x, double[] y) {
        long concordant = 0;
        long discordant = 0;
        long tiesX = 0;
        long tiesY = 0;
        for (int i = 0; i < x.length; i++) {
            for (int j = i + 1; j < x.length; j++) {
                int sx = Double.compare(x[i], x[j]);
                int sy = Double.compare(y[i], y[j]);
                if (sx == 0 && sy == 0) {
                    continue;
                } else if (sx == 0) {
                    tiesX++;
                } else if (sy == 0) {
                    tiesY++;
                } else if (sx == sy) {
                    concordant++;
                } else {
                    discordant++;
                }
            }
        }
        double denominator = Math.sqrt((double) (concordant + discordant + tiesX) * (concordant + discordant + tiesY));
        return denominator == 0 ? Double.NaN : (concordant - discordant) / denominator;
    }

    /** Spearman over the features of {@code a} that {@code b} also has. */
    public static double spearman(Map<String, Double> a, Map<String, Double> b) {
        double[][] paired = paired(a, b);
        return paired[0].length < 2 ? Double.NaN : spearman(paired[0], paired[1]);
    }

    /** Kendall's tau-b over the features of {@code a} that {@code b} also has. */
    public static double kendall(Map<String, Double> a, Map<String, Double> b) {
        double[][] paired = paired(a, b);
        return paired[0].length < 2 ? Double.NaN : kendall(paired[0], paired[1]);
    }

    /** The {@code k} features with the largest values, largest first; ties broken by name so the list is stable. */
    public static List<String> topK(Map<String, Double> values, int k) {
        return values.entrySet().stream()
                .sorted(Comparator.<Map.Entry<String, Double>>comparingDouble(Map.Entry::getValue).reversed()
                        .thenComparing(Map.Entry::getKey))
                .limit(k).map(Map.Entry::getKey).toList();
    }

    /** Fraction of the top {@code k} of {@code a} that is also in the top {@code k} of {@code b}. */
    public static double topKOverlap(Map<String, Double> a, Map<String, Double> b, int k) {
        List<String> topA = topK(a, k);
        if (topA.isEmpty()) {
            return Double.NaN;
        }
        Set<String> topB = new HashSet<>(topK(b, k));
        return topA.stream().filter(topB::contains).count() / (double) topA.size();
    }

    /** Cosine similarity; NaN when either vector is all zeros. */
    public static double cosine(double[] a, double[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return na == 0 || nb == 0 ? Double.NaN : dot / Math.sqrt(na * nb);
    }

    /** Average ranks, 1-based; tied values share the mean of the ranks they span. */
    static double[] ranks(double[] values) {
        Integer[] order = IntStream.range(0, values.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble(i -> values[i]));
        double[] ranks = new double[values.length];
        int i = 0;
        while (i < order.length) {
            int j = i;
            while (j + 1 < order.length && values[order[j + 1]] == values[order[i]]) {
                j++;
            }
            double rank = (i + j) / 2.0 + 1;
            for (int t = i; t <= j; t++) {
                ranks[order[t]] = rank;
            }
            i = j + 1;
        }
        return ranks;
    }

    private static double pearson(double[] x, double[] y) {
        double mx = Arrays.stream(x).average().orElse(Double.NaN);
        double my = Arrays.stream(y).average().orElse(Double.NaN);
        double sxy = 0;
        double sxx = 0;
        double syy = 0;
        for (int i = 0; i < x.length; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx == 0 || syy == 0 ? Double.NaN : sxy / Math.sqrt(sxx * syy);
    }

    private static double[][] paired(Map<String, Double> a, Map<String, Double> b) {
        List<String> common = a.keySet().stream().filter(b::containsKey).sorted().toList();
        double[][] out = new double[2][common.size()];
        for (int i = 0; i < common.size(); i++) {
            out[0][i] = a.get(common.get(i));
            out[1][i] = b.get(common.get(i));
        }
        return out;
    }
}
