package io.candor.audit;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RankAgreementTest {

    /** Spearman without ties: 1 - 6 sum d^2 / (n (n^2 - 1)), the textbook formula, against the ranks-Pearson one. */
    @Test
    void spearmanMatchesTheClosedFormWithoutTies() {
        SplittableRandom random = new SplittableRandom(3);
        for (int trial = 0; trial < 50; trial++) {
            int n = 3 + random.nextInt(30);
            double[] x = new double[n];
            double[] y = new double[n];
            for (int i = 0; i < n; i++) {
                x[i] = random.nextDouble();
                y[i] = x[i] + random.nextGaussian() * random.nextDouble();
            }
            double[] rx = RankAgreement.ranks(x);
            double[] ry = RankAgreement.ranks(y);
            double d2 = 0;
            for (int i = 0; i < n; i++) {
                d2 += (rx[i] - ry[i]) * (rx[i] - ry[i]);
            }
            assertEquals(1 - 6 * d2 / (n * ((double) n * n - 1)), RankAgreement.spearman(x, y), 1e-12);
        }
    }

    /** Kendall's tau-b by brute force over pairs, with ties on both sides: (C - D) / sqrt((n0 - n1)(n0 - n2)). */
    @Test
    void kendallTauBMatchesTheTieCorrectedDefinition() {
        SplittableRandom random = new SplittableRandom(5);
        for (int trial = 0; trial < 50; trial++) {
            int n = 2 + random.nextInt(25);
            double[] x = new double[n];
            double[] y = new double[n];
            for (int i = 0; i < n; i++) {
                x[i] = random.nextInt(5); // many ties
                y[i] = random.nextInt(4);
            }
            long c = 0;
            long d = 0;
            long n1 = 0;
            long n2 = 0;
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    double s = Math.signum(x[i] - x[j]) * Math.signum(y[i] - y[j]);
                    c += s > 0 ? 1 : 0;
                    d += s < 0 ? 1 : 0;
                    n1 += x[i] == x[j] ? 1 : 0;
                    n2 += y[i] == y[j] ? 1 : 0;
                }
            }
            long n0 = (long) n * (n - 1) / 2;
            double expected = (n0 - n1) * (n0 - n2) == 0 ? Double.NaN
                    : (c - d) / Math.sqrt((double) (n0 - n1) * (n0 - n2));
            assertEquals(expected, RankAgreement.kendall(x, y), 1e-12, "trial " + trial);
        }
    }

    @Test
    void knownValuesTiesAndDegenerateInputs() {
        // x = 1..5, y = 5, 6, 7, 8, 7: ranks of y are 1, 2, 3.5, 5, 3.5; rho = 0.8208, tau-b = 0.7379 (by hand).
        double[] x = {1, 2, 3, 4, 5};
        double[] y = {5, 6, 7, 8, 7};
        assertEquals(0.82078268, RankAgreement.spearman(x, y), 1e-8);
        assertEquals(0.73786479, RankAgreement.kendall(x, y), 1e-8);
        assertEquals(1.0, RankAgreement.spearman(x, x), 1e-12);
        assertEquals(-1.0, RankAgreement.kendall(x, new double[] {5, 4, 3, 2, 1}), 1e-12);
        assertTrue(Double.isNaN(RankAgreement.spearman(x, new double[] {2, 2, 2, 2, 2})), "no variation");
        assertTrue(Double.isNaN(RankAgreement.cosine(new double[] {0, 0}, new double[] {1, 2})));
        assertEquals(1.0, RankAgreement.cosine(new double[] {1, 2}, new double[] {2, 4}), 1e-12);
    }

    @Test
    void mapsArePairedByFeatureNameAndTopKIsStable() {
        Map<String, Double> a = new LinkedHashMap<>(Map.of("a", 3.0, "b", 2.0, "c", 1.0, "d", 0.5));
        Map<String, Double> b = new LinkedHashMap<>(Map.of("d", 0.1, "c", 0.2, "b", 0.3, "a", 0.4, "extra", 9.0));
        assertEquals(1.0, RankAgreement.spearman(a, b), 1e-12, "the extra feature is ignored, order of keys is not");
        assertEquals(List.of("a", "b"), RankAgreement.topK(a, 2));
        assertEquals(List.of("x", "y"), RankAgreement.topK(Map.of("y", 1.0, "x", 1.0, "z", 0.0), 2), "ties by name");
        assertEquals(0.5, RankAgreement.topKOverlap(a, b, 2), 1e-12, "top-2 of b is extra, a");
    }
}
