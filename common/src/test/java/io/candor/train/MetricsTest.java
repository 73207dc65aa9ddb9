package io.candor.train;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checks {@link Metrics} against brute-force references written here (pairwise AUC, per-class F1 from precision and
 * recall) on seeded random inputs, and against hand-computed values on small cases.
 */
class MetricsTest {
    private static final double TOL = 1e-12;

    // ---- references -------------------------------------------------------------------------------------------

    /** Fraction of (positive, negative) pairs ordered correctly, ties counting 1/2: O(n²) but obviously right. */
    private static double pairwiseAuc(double[] scores, int[] labels01) {
        double wins = 0;
        long pairs = 0;
        for (int i = 0; i < scores.length; i++) {
            if (labels01[i] != 1) {
                continue;
            }
            for (int j = 0; j < scores.length; j++) {
                if (labels01[j] != 0) {
                    continue;
                }
                pairs++;
                if (scores[i] > scores[j]) {
                    wins += 1;
                } else if (scores[i] == scores[j]) {
                    wins += 0.5;
                }
            }
        }
        return wins / pairs;
    }

    private static int referenceArgmax(double[] row) {
        int best = 0;
        for (int j = 0; j < row.length; j++) {
            if (row[j] > row[best]) {
                best = j;
            }
        }
        return best;
    }

    /** Macro F1 as 2PR / (P + R), over the classes seen in labels or predictions (scikit-learn's default). */
    private static double referenceMacroF1(int[] predicted, int[] labels, int numClasses) {
        double sum = 0;
        int classes = 0;
        for (int c = 0; c < numClasses; c++) {
            int tp = 0;
            int predictedC = 0;
            int actualC = 0;
            for (int i = 0; i < labels.length; i++) {
                if (predicted[i] == c) {
                    predictedC++;
                }
                if (labels[i] == c) {
                    actualC++;
                }
                if (predicted[i] == c && labels[i] == c) {
                    tp++;
                }
            }
            if (predictedC == 0 && actualC == 0) {
                continue;
            }
            classes++;
            double precision = predictedC == 0 ? 0 : (double) tp / predictedC;
            double recall = actualC == 0 ? 0 : (double) tp / actualC;
            sum += precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        }
        return sum / classes;
    }

    private static double[][] randomProbs(SplittableRandom rnd, int n, int k) {
        double[][] probs = new double[n][k];
        for (double[] row : probs) {
            for (int j = 0; j < k; j++) {
                // Coarse values make argmax ties frequent, exercising the lowest-index rule.
                row[j] = rnd.nextInt(5) / 4.0;
            }
        }
        return probs;
    }

    private static int[] randomLabels(SplittableRandom rnd, int n, int k) {
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = rnd.nextInt(k);
        }
        return labels;
    }

    // ---- AUC ----------------------------------------------------------------------------------------------------

    @Test
    void aucEqualsPairwiseFractionOnRandomInputsWithTies() {
        SplittableRandom rnd = new SplittableRandom(20261123L);
        for (int trial = 0; trial < 500; trial++) {
            int n = 2 + rnd.nextInt(300);
            int distinct = 1 + rnd.nextInt(20); // few distinct values: many ties, sometimes all tied
            double[] scores = new double[n];
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                scores[i] = rnd.nextInt(distinct) / (double) distinct - 0.5;
                labels[i] = rnd.nextInt(4) == 0 ? 1 : 0; // unbalanced
            }
            labels[0] = 1;
            labels[1] = 0;
            assertEquals(pairwiseAuc(scores, labels), Metrics.rocAuc(scores, labels), TOL, "trial " + trial);
        }
    }

    @Test
    void aucEqualsPairwiseFractionOnContinuousScores() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int trial = 0; trial < 100; trial++) {
            int n = 2 + rnd.nextInt(500);
            double[] scores = new double[n];
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                labels[i] = rnd.nextInt(2);
                scores[i] = rnd.nextGaussian() + labels[i];
            }
            labels[0] = 1;
            labels[1] = 0;
            assertEquals(pairwiseAuc(scores, labels), Metrics.rocAuc(scores, labels), TOL, "trial " + trial);
        }
    }

    @Test
    void aucIsOneForPerfectRankingZeroForReversedAndHalfWhenAllTied() {
        int[] labels = {0, 1, 0, 1, 1};
        assertEquals(1.0, Metrics.rocAuc(new double[] {0.1, 0.9, 0.2, 0.8, 0.7}, labels), TOL);
        assertEquals(0.0, Metrics.rocAuc(new double[] {0.9, 0.1, 0.8, 0.2, 0.3}, labels), TOL);
        assertEquals(0.5, Metrics.rocAuc(new double[] {0.4, 0.4, 0.4, 0.4, 0.4}, labels), TOL);
    }

    @Test
    void aucCountsSignedZerosAsATie() {
        // -0.0 == 0.0 numerically, so the pair is a tie worth 1/2, whatever order Arrays.sort gives them.
        assertEquals(0.5, Metrics.rocAuc(new double[] {-0.0, 0.0}, new int[] {1, 0}), TOL);
        assertEquals(0.5, Metrics.rocAuc(new double[] {0.0, -0.0}, new int[] {1, 0}), TOL);
    }

    @Test
    void aucDoesNotModifyItsArguments() {
        double[] scores = {0.3, 0.1, 0.2};
        int[] labels = {1, 0, 1};
        Metrics.rocAuc(scores, labels);
        assertEquals(List.of(0.3, 0.1, 0.2), List.of(scores[0], scores[1], scores[2]));
    }

    @Test
    void aucRejectsOneClassInput() {
        IllegalArgumentException allPositive = assertThrows(IllegalArgumentException.class,
                () -> Metrics.rocAuc(new double[] {0.1, 0.2}, new int[] {1, 1}));
        assertTrue(allPositive.getMessage().contains("2 positives and 0 negatives"), allPositive.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Metrics.rocAuc(new double[] {0.1, 0.2}, new int[] {0, 0}));
        // classification() asks for AUC on two-class problems, so it must refuse a one-class split too.
        assertThrows(IllegalArgumentException.class,
                () -> Metrics.classification(new double[][] {{0.6, 0.4}, {0.3, 0.7}}, new int[] {1, 1}, 2));
    }

    @Test
    void aucRejectsLabelsOtherThanZeroAndOneAndNaNScores() {
        assertThrows(IllegalArgumentException.class,
                () -> Metrics.rocAuc(new double[] {0.1, 0.2, 0.3}, new int[] {0, 1, 2}));
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
                () -> Metrics.rocAuc(new double[] {0.1, Double.NaN}, new int[] {0, 1}));
        assertTrue(nan.getMessage().contains("scores[1]"), nan.getMessage());
    }

    // ---- accuracy, log-loss, F1 ---------------------------------------------------------------------------------

    @Test
    void accuracyMatchesArgmaxCountOnRandomInputs() {
        SplittableRandom rnd = new SplittableRandom(42);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + rnd.nextInt(200);
            int k = 1 + rnd.nextInt(6);
            double[][] probs = randomProbs(rnd, n, k);
            int[] labels = randomLabels(rnd, n, k);
            int correct = 0;
            for (int i = 0; i < n; i++) {
                correct += referenceArgmax(probs[i]) == labels[i] ? 1 : 0;
            }
            assertEquals((double) correct / n, Metrics.accuracy(probs, labels), TOL, "trial " + trial);
        }
    }

    @Test
    void accuracyBreaksArgmaxTiesTowardsTheLowestIndex() {
        double[][] probs = {{0.4, 0.4, 0.2}, {0.1, 0.45, 0.45}};
        assertEquals(1.0, Metrics.accuracy(probs, new int[] {0, 1}), TOL);
        assertEquals(0.0, Metrics.accuracy(probs, new int[] {1, 2}), TOL);
    }

    @Test
    void logLossIsMeanNegativeLogOfTheTrueClassProbability() {
        double[][] probs = {{0.8, 0.2}, {0.3, 0.7}, {0.5, 0.5}};
        double expected = -(Math.log(0.8) + Math.log(0.7) + Math.log(0.5)) / 3;
        assertEquals(expected, Metrics.logLoss(probs, new int[] {0, 1, 1}), TOL);
    }

    @Test
    void logLossClipsButDoesNotRenormalise() {
        // p = 0 is clipped to 1e-15, so the loss is finite: -ln(1e-15) ~ 34.54.
        assertEquals(-Math.log(1e-15), Metrics.logLoss(new double[][] {{1.0, 0.0}}, new int[] {1}), TOL);
        // p >= 1 is clipped to 1 - 1e-15, so the loss is a tiny positive number, never negative.
        double top = -Math.log(1 - 1e-15);
        assertEquals(top, Metrics.logLoss(new double[][] {{2.0, 0.0}}, new int[] {0}), TOL);
        assertTrue(Metrics.logLoss(new double[][] {{1.0, 0.0}}, new int[] {0}) > 0);
        // A row summing to 0.5 is taken as is: 0.25 stays 0.25, not 0.5.
        assertEquals(-Math.log(0.25), Metrics.logLoss(new double[][] {{0.25, 0.25}}, new int[] {0}), TOL);
    }

    @Test
    void macroF1MatchesHandComputedScikitLearnValue() {
        // predictions 0,1,1,1,0 vs labels 0,0,1,1,2: F1 = 2/4, 4/5 and 0 -> mean 13/30
        // (sklearn.metrics.f1_score([0,0,1,1,2], [0,1,1,1,0], average="macro") == 0.4333...).
        double[][] probs = {{0.9, 0.1, 0.0}, {0.2, 0.7, 0.1}, {0.1, 0.8, 0.1}, {0.3, 0.6, 0.1}, {0.5, 0.3, 0.2}};
        int[] labels = {0, 0, 1, 1, 2};
        assertEquals(13.0 / 30, Metrics.macroF1(probs, labels, 3), TOL);
    }

    @Test
    void macroF1SkipsClassesAbsentFromBothLabelsAndPredictions() {
        // Same rows with a fourth, never-seen class: still averaged over the three present classes.
        double[][] probs = {{0.9, 0.1, 0.0, 0}, {0.2, 0.7, 0.1, 0}, {0.1, 0.8, 0.1, 0}, {0.3, 0.6, 0.1, 0},
                {0.5, 0.3, 0.2, 0}};
        assertEquals(13.0 / 30, Metrics.macroF1(probs, new int[] {0, 0, 1, 1, 2}, 4), TOL);
    }

    @Test
    void macroF1CountsAClassThatIsOnlyPredictedAsZero() {
        // Class 1 is predicted once but never a label: F1(0) = 2*1/(2+0+1) = 2/3, F1(1) = 0, class 2 skipped.
        double[][] probs = {{0.9, 0.1, 0.0}, {0.1, 0.9, 0.0}};
        assertEquals((2.0 / 3 + 0) / 2, Metrics.macroF1(probs, new int[] {0, 0}, 3), TOL);
        // All predictions right on one class only: that class alone, F1 = 1.
        assertEquals(1.0, Metrics.macroF1(new double[][] {{0.9, 0.1}}, new int[] {0}, 2), TOL);
    }

    @Test
    void macroF1MatchesPrecisionRecallReferenceOnRandomInputs() {
        SplittableRandom rnd = new SplittableRandom(99);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + rnd.nextInt(150);
            int k = 1 + rnd.nextInt(7);
            double[][] probs = randomProbs(rnd, n, k);
            int[] labels = randomLabels(rnd, n, Math.max(1, k - rnd.nextInt(2))); // sometimes leave a class out
            int[] predicted = new int[n];
            for (int i = 0; i < n; i++) {
                predicted[i] = referenceArgmax(probs[i]);
            }
            assertEquals(referenceMacroF1(predicted, labels, k), Metrics.macroF1(probs, labels, k), TOL,
                    "trial " + trial);
        }
    }

    @Test
    void classificationReturnsItsKeysInOrderAndAucOnlyForTwoClasses() {
        double[][] two = {{0.8, 0.2}, {0.4, 0.6}, {0.7, 0.3}, {0.1, 0.9}};
        int[] labels2 = {0, 1, 1, 1};
        LinkedHashMap<String, Double> m2 = Metrics.classification(two, labels2, 2);
        assertEquals(List.of("accuracy", "log_loss", "macro_f1", "auc"), List.copyOf(m2.keySet()));
        assertEquals(Metrics.accuracy(two, labels2), m2.get("accuracy"), TOL);
        assertEquals(Metrics.logLoss(two, labels2), m2.get("log_loss"), TOL);
        assertEquals(Metrics.macroF1(two, labels2, 2), m2.get("macro_f1"), TOL);
        assertEquals(pairwiseAuc(new double[] {0.2, 0.6, 0.3, 0.9}, labels2), m2.get("auc"), TOL);

        double[][] three = {{0.8, 0.1, 0.1}, {0.2, 0.2, 0.6}};
        LinkedHashMap<String, Double> m3 = Metrics.classification(three, new int[] {0, 2}, 3);
        assertEquals(List.of("accuracy", "log_loss", "macro_f1"), List.copyOf(m3.keySet()));
        assertEquals(1.0, m3.get("accuracy"), TOL);
    }

    // ---- regression ---------------------------------------------------------------------------------------------

    @Test
    void r2IsOneForPerfectPredictionAndZeroForTheMean() {
        double[] y = {3.0, -1.5, 2.0, 7.25, 0.5};
        assertEquals(1.0, Metrics.r2(y.clone(), y), TOL);
        double mean = (3.0 - 1.5 + 2.0 + 7.25 + 0.5) / 5;
        assertEquals(0.0, Metrics.r2(new double[] {mean, mean, mean, mean, mean}, y), TOL);
    }

    @Test
    void regressionMetricsMatchHandComputedValues() {
        double[] y = {1, 2, 3, 4};
        double[] pred = {1, 2, 3, 5}; // one residual of 1; SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5
        assertEquals(0.5, Metrics.rmse(pred, y), TOL);
        assertEquals(0.25, Metrics.mae(pred, y), TOL);
        assertEquals(0.8, Metrics.r2(pred, y), TOL);
        // Squared errors 1, 4, 0, 12.
        double[] zeros = {0, 0, 0, 0};
        assertEquals(Math.sqrt(17.0 / 4), Metrics.rmse(zeros, new double[] {1, -2, 0, 2 * Math.sqrt(3)}), TOL);
        // A worse-than-mean model has negative R²: residuals 3,3,3,3 -> 1 - 36/5.
        assertEquals(1 - 36.0 / 5, Metrics.r2(new double[] {4, 5, 6, 7}, y), TOL);
    }

    @Test
    void r2OfConstantTargetsIsOneIfExactElseZero() {
        assertEquals(1.0, Metrics.r2(new double[] {2, 2}, new double[] {2, 2}), TOL);
        assertEquals(0.0, Metrics.r2(new double[] {2, 3}, new double[] {2, 2}), TOL);
        assertEquals(1.0, Metrics.r2(new double[] {5}, new double[] {5}), TOL);
    }

    @Test
    void regressionReturnsRmseMaeR2InOrder() {
        double[] y = {1, 2, 3, 4};
        double[] pred = {1.5, 2, 2.5, 4};
        LinkedHashMap<String, Double> m = Metrics.regression(pred, y);
        assertEquals(List.of("rmse", "mae", "r2"), List.copyOf(m.keySet()));
        assertEquals(Math.sqrt(0.5 / 4), m.get("rmse"), TOL);
        assertEquals(0.25, m.get("mae"), TOL);
        assertEquals(1 - 0.5 / 5, m.get("r2"), TOL);
    }

    // ---- argument checks ----------------------------------------------------------------------------------------

    @Test
    void mismatchedLengthsAreRejectedWithBothSizesInTheMessage() {
        double[][] probs = new double[10][2];
        int[] labels = new int[9];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Metrics.accuracy(probs, labels));
        assertEquals("probs has 10 rows but labels has 9", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Metrics.logLoss(probs, labels));
        assertThrows(IllegalArgumentException.class, () -> Metrics.macroF1(probs, labels, 2));
        assertThrows(IllegalArgumentException.class, () -> Metrics.classification(probs, labels, 2));

        IllegalArgumentException r = assertThrows(IllegalArgumentException.class,
                () -> Metrics.rmse(new double[3], new double[4]));
        assertEquals("pred has 3 entries but y has 4", r.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Metrics.mae(new double[3], new double[4]));
        assertThrows(IllegalArgumentException.class, () -> Metrics.r2(new double[3], new double[4]));
        assertThrows(IllegalArgumentException.class, () -> Metrics.regression(new double[3], new double[4]));

        IllegalArgumentException a = assertThrows(IllegalArgumentException.class,
                () -> Metrics.rocAuc(new double[3], new int[] {0, 1}));
        assertEquals("scores has 3 entries but labels01 has 2", a.getMessage());
    }

    @Test
    void emptyInputIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> Metrics.accuracy(new double[0][], new int[0]));
        assertThrows(IllegalArgumentException.class, () -> Metrics.classification(new double[0][], new int[0], 2));
        assertThrows(IllegalArgumentException.class, () -> Metrics.regression(new double[0], new double[0]));
        assertThrows(IllegalArgumentException.class, () -> Metrics.rocAuc(new double[0], new int[0]));
    }

    @Test
    void labelsOutsideTheClassRangeAndRaggedRowsAreRejected() {
        IllegalArgumentException label = assertThrows(IllegalArgumentException.class,
                () -> Metrics.macroF1(new double[][] {{0.5, 0.5}, {0.5, 0.5}}, new int[] {0, 2}, 2));
        assertEquals("labels[1] = 2 is outside [0, 2)", label.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Metrics.accuracy(new double[][] {{0.5, 0.5}}, new int[] {-1}));
        IllegalArgumentException width = assertThrows(IllegalArgumentException.class,
                () -> Metrics.classification(new double[][] {{0.2, 0.3, 0.5}}, new int[] {0}, 2));
        assertEquals("probs[0] has 3 columns but numClasses is 2", width.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Metrics.logLoss(new double[][] {{0.5, 0.5}, {1.0}}, new int[] {0, 0}));
        assertThrows(IllegalArgumentException.class,
                () -> Metrics.macroF1(new double[][] {{1.0}}, new int[] {0}, 0));
    }

    @Test
    void nanInputsAreRejectedNamingTheEntry() {
        IllegalArgumentException p = assertThrows(IllegalArgumentException.class,
                () -> Metrics.accuracy(new double[][] {{0.5, 0.5}, {Double.NaN, 0.5}}, new int[] {0, 1}));
        assertEquals("probs[1][0] is NaN", p.getMessage());
        IllegalArgumentException y = assertThrows(IllegalArgumentException.class,
                () -> Metrics.rmse(new double[] {1, 2}, new double[] {1, Double.NaN}));
        assertEquals("y[1] is NaN", y.getMessage());
    }
}
