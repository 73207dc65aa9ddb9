package io.candor.train;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AucHistogramTest {
    /** Float probabilities as a network gives them: mostly confident, piled up near 0 and 1. */
    private static double[] confidentScores(Random random, int[] labels) {
        double[] scores = new double[labels.length];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = random.nextInt(2);
            double logit = (labels[i] == 1 ? 4 : -4) + 3 * random.nextGaussian();
            scores[i] = (float) (1 / (1 + Math.exp(-logit)));
        }
        return scores;
    }

    @Test
    void theAucIsWithinItsErrorBoundOfTheExactOneAndTheBoundIsSmall() {
        for (long seed = 0; seed < 10; seed++) {
            Random random = new Random(seed);
            int[] labels = new int[20_000];
            double[] scores = confidentScores(random, labels);
            AucHistogram h = new AucHistogram();
            for (int i = 0; i < labels.length; i++) {
                h.add(scores[i], labels[i] == 1);
            }
            double exact = Metrics.rocAuc(scores, labels);
            assertTrue(Math.abs(h.auc() - exact) <= h.errorBound(), "seed " + seed + ": " + h.auc() + " vs " + exact
                    + ", bound " + h.errorBound());
            assertTrue(h.errorBound() < 1e-3, "bound " + h.errorBound());
        }
    }

    @Test
    void scoresInDistinctBinsGiveTheExactAucAndMergingInAnyOrderGivesTheSameSketch() {
        Random random = new Random(3);
        int n = 100;
        int[] labels = new int[n];
        double[] scores = new double[n];
        for (int i = 0; i < n; i++) {
            labels[i] = random.nextInt(2);
            scores[i] = (i + 0.5) / n; // 0.01 apart: wider than any bin (at most 2^-7 near 0.5)
        }
        AucHistogram whole = new AucHistogram();
        AucHistogram[] parts = {new AucHistogram(), new AucHistogram(), new AucHistogram()};
        for (int i = 0; i < n; i++) {
            whole.add(scores[i], labels[i] == 1);
            parts[random.nextInt(3)].add(scores[i], labels[i] == 1);
        }
        assertEquals(0.0, whole.errorBound(), 0.0);
        assertEquals(Metrics.rocAuc(scores, labels), whole.auc(), 0.0);
        double forward = new AucHistogram().merge(parts[0]).merge(parts[1]).merge(parts[2]).auc();
        double backward = new AucHistogram().merge(parts[2]).merge(parts[1]).merge(parts[0]).auc();
        assertEquals(whole.auc(), forward, 0.0);
        assertEquals(whole.auc(), backward, 0.0);
    }

    @Test
    void binsFollowTheScoreOrderUpToOne() {
        double[] ascending = {0.0, 1e-30, 1e-7, 0.01, 0.4999, 0.5, 0.5001, 0.99, 1 - 1e-7, 1.0};
        for (int i = 1; i < ascending.length; i++) {
            assertTrue(AucHistogram.bin(ascending[i - 1]) < AucHistogram.bin(ascending[i]),
                    ascending[i - 1] + " before " + ascending[i]);
        }
        assertThrows(IllegalArgumentException.class, () -> AucHistogram.bin(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> AucHistogram.bin(1.5));
    }
}
