package io.candor.explain.shapley;

import io.candor.explain.shapley.ShapleyFixtures.RowModel;
import io.candor.explain.shapley.SageEstimator.Loss;
import io.candor.util.Seeds;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static io.candor.explain.shapley.KernelShapEstimatorTest.assertMessage;
import static io.candor.explain.shapley.ShapleyFixtures.gaussianRows;
import static io.candor.explain.shapley.ShapleyFixtures.sum;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SAGE on synthetic data whose label depends only on features 0 and 1; the models also use feature 3 a little,
 * which does not help predict the label.
 */
class SageEstimatorTest {
    private static final long SEED = 4242L;
    private static final int N = 400;
    private static final int M = 6;

    private static final double[][] DATA = gaussianRows(1, N, M);
    private static final Background BACKGROUND = Background.uniform(Arrays.copyOf(DATA, 40));

    private static RowModel regressor() {
        return new RowModel(M, 1, x -> new double[] {2 * x[0] - 1.5 * x[1] + x[0] * x[1] + 0.2 * x[3]});
    }

    private static double[] regressionLabels() {
        double[] y = new double[N];
        for (int i = 0; i < N; i++) {
            double[] x = DATA[i];
            y[i] = 2 * x[0] - 1.5 * x[1] + x[0] * x[1] + 0.3 * ShapleyFixtures.gaussian(Seeds.stream(SEED, i));
        }
        return y;
    }

    private static RowModel classifier() {
        return new RowModel(M, 2, x -> {
            double p = 1 / (1 + Math.exp(-(3 * x[0] - 2 * x[1] + 0.3 * x[3])));
            return new double[] {1 - p, p};
        });
    }

    private static double[] classLabels() {
        double[] y = new double[N];
        for (int i = 0; i < N; i++) {
            double p = 1 / (1 + Math.exp(-(3 * DATA[i][0] - 2 * DATA[i][1])));
            y[i] = Seeds.uniform(SEED, 99, i) < p ? 1 : 0;
        }
        return y;
    }

    private static SageResult sage(RowModel model, Loss loss, double[] labels, int maxPairs, int round,
                                   double fraction, long maxValues) {
        return new SageEstimator(model, Players.singletons(M), BACKGROUND,
                new SageEstimator.Settings(loss, maxPairs, round, fraction, maxValues, SEED)).estimate(DATA, labels);
    }

    /** {@code E[loss(E_bg f)] − E[loss(f(x))]} over the whole dataset, computed directly. */
    private static double lossReduction(RowModel model, Loss loss, double[] labels) {
        double[] base = new double[model.outputs()];
        for (int b = 0; b < BACKGROUND.size(); b++) {
            double[] y = model.predict(BACKGROUND.row(b), 1);
            for (int o = 0; o < base.length; o++) {
                base[o] += BACKGROUND.weight(b) * y[o];
            }
        }
        double reduction = 0;
        for (int i = 0; i < N; i++) {
            reduction += (loss.of(base, 0, labels[i]) - loss.of(model.predict(DATA[i], 1), 0, labels[i])) / N;
        }
        return reduction;
    }

    private static void assertLabelFeaturesRankFirst(SageResult r) {
        double[] v = r.values();
        double thirdBest = Double.NEGATIVE_INFINITY;
        for (int j = 2; j < M; j++) {
            thirdBest = Math.max(thirdBest, v[j]);
        }
        assertTrue(Math.min(v[0], v[1]) > thirdBest + 3 * (r.stdError()[0] + r.stdError()[1]),
                "features 0 and 1 rank first: " + r);
    }

    @Test
    void labelFeaturesRankFirstForRegression() {
        assertLabelFeaturesRankFirst(sage(regressor(), Loss.SQUARED_ERROR, regressionLabels(), 2000, 64, 0.02,
                1 << 22));
    }

    @Test
    void labelFeaturesRankFirstForClassification() {
        assertLabelFeaturesRankFirst(sage(classifier(), Loss.CROSS_ENTROPY, classLabels(), 2000, 64, 0.02,
                1 << 22));
    }

    @Test
    void valuesSumToLossReductionWithinTheirErrors() {
        for (Loss loss : Loss.values()) {
            RowModel model = loss == Loss.SQUARED_ERROR ? regressor() : classifier();
            double[] labels = loss == Loss.SQUARED_ERROR ? regressionLabels() : classLabels();
            SageResult r = sage(model, loss, labels, 4096, 256, 0, 1 << 22);
            double expected = lossReduction(model, loss, labels);
            // the standard deviation of a sum is at most the sum of the standard deviations
            double tolerance = 3 * sum(r.stdError());
            assertEquals(expected, sum(r.values()), tolerance, loss + ": " + r);
            assertTrue(tolerance < 0.25 * expected, loss + ": the check is not vacuous (" + tolerance + " vs "
                    + expected + ")");
        }
    }

    @Test
    void standardErrorsMatchTheSpreadAcrossSeeds() {
        double[] labels = classLabels();
        int runs = 30;
        double[][] values = new double[runs][];
        double meanSe2 = 0;
        for (int r = 0; r < runs; r++) {
            SageResult res = new SageEstimator(classifier(), Players.singletons(M), BACKGROUND,
                    new SageEstimator.Settings(Loss.CROSS_ENTROPY, 128, 128, 0, 1 << 22, 1000 + r))
                    .estimate(DATA, labels);
            values[r] = res.values();
            for (double se : res.stdError()) {
                meanSe2 += se * se / runs;
            }
        }
        double spread2 = 0;
        for (int j = 0; j < M; j++) {
            double mean = 0;
            for (double[] v : values) {
                mean += v[j] / runs;
            }
            for (double[] v : values) {
                spread2 += (v[j] - mean) * (v[j] - mean) / (runs - 1);
            }
        }
        double ratio = Math.sqrt(spread2 / meanSe2);
        assertTrue(ratio > 0.75 && ratio < 1.33, "spread across seeds / reported error = " + ratio);
    }

    @Test
    void stopsOnceLargestErrorIsBelowTheFractionOfTheRange() {
        SageResult r = sage(regressor(), Loss.SQUARED_ERROR, regressionLabels(), 5000, 32, 0.05, 1 << 22);
        assertTrue(r.converged(), r.toString());
        assertTrue(r.permutationPairs() > 32 && r.permutationPairs() < 5000 && r.permutationPairs() % 32 == 0,
                "stopped early, at the end of a round after the first: " + r.permutationPairs());
        double[] v = r.values();
        double range = Arrays.stream(v).max().orElseThrow() - Arrays.stream(v).min().orElseThrow();
        assertTrue(Arrays.stream(r.stdError()).max().orElseThrow() <= 0.05 * range);
        SageResult shorter = sage(regressor(), Loss.SQUARED_ERROR, regressionLabels(),
                (int) r.permutationPairs() - 32, 32, 0.05, 1 << 22);
        assertFalse(shorter.converged(), "the round before was not yet converged");
    }

    @Test
    void runsToTheMaximumWhenTheThresholdIsOutOfReach() {
        SageResult r = sage(classifier(), Loss.CROSS_ENTROPY, classLabels(), 70, 32, 1e-9, 1 << 22);
        assertFalse(r.converged());
        assertEquals(70, r.permutationPairs(), "two full rounds and a last partial one");
        // Each of the 3 rounds evaluates the empty coalition (the base) once, so rounds can run in separate tasks.
        assertEquals(3L * BACKGROUND.size() + 70L * (1 + 2 * (M - 1) * BACKGROUND.size()), r.evaluations());
    }

    @Test
    void pairSamplesSplitAnyWayMatchEstimate() {
        double[] labels = classLabels();
        SageEstimator estimator = new SageEstimator(classifier(), Players.singletons(M), BACKGROUND,
                new SageEstimator.Settings(Loss.CROSS_ENTROPY, 64, 64, 0.0, 1 << 22, 5));
        double[][] data = DATA;
        SageEstimator.PairSamples whole = estimator.pairSamples(data, labels, 0, 64);
        SageEstimator.PairSamples first = estimator.pairSamples(data, labels, 0, 21);
        SageEstimator.PairSamples rest = estimator.pairSamples(data, labels, 21, 64);
        for (int t = 0; t < 64; t++) {
            double[] split = t < 21 ? first.samples()[t] : rest.samples()[t - 21];
            assertArrayEquals(whole.samples()[t], split, 1e-12, "pair " + t);
        }
        SageResult r = estimator.estimate(data, labels);
        double[] mean = new double[whole.samples()[0].length];
        for (double[] sample : whole.samples()) {
            for (int j = 0; j < mean.length; j++) {
                mean[j] += sample[j] / 64;
            }
        }
        assertArrayEquals(mean, r.values(), 1e-12);
    }

    @Test
    void sameSeedGivesIdenticalResultsWhateverTheBatchBudget() {
        double[] labels = classLabels();
        SageResult a = sage(classifier(), Loss.CROSS_ENTROPY, labels, 256, 64, 0, 1 << 22);
        SageResult b = sage(classifier(), Loss.CROSS_ENTROPY, labels, 256, 64, 0, 1 << 22);
        SageResult small = sage(classifier(), Loss.CROSS_ENTROPY, labels, 256, 64, 0, 333);
        assertEquals(a, b);
        KernelShapEstimatorTest.assertArrayClose(a.values(), small.values(), 1e-12, "values");
        KernelShapEstimatorTest.assertArrayClose(a.stdError(), small.stdError(), 1e-12, "errors");
        SageResult other = new SageEstimator(classifier(), Players.singletons(M), BACKGROUND,
                new SageEstimator.Settings(Loss.CROSS_ENTROPY, 256, 64, 0, 1 << 22, SEED + 1)).estimate(DATA, labels);
        assertTrue(other.values()[0] != a.values()[0], "another seed draws other permutations");
    }

    @Test
    void predictIsCalledPerBatchNotPerPermutation() {
        RowModel model = classifier();
        long budget = 4000;
        SageResult r = sage(model, Loss.CROSS_ENTROPY, classLabels(), 200, 50, 0, budget);
        assertEquals(r.evaluations(), model.rows);
        long batchRows = budget / (M + 2);
        long rounds = 4;
        long bound = (r.evaluations() + batchRows - 1) / batchRows + rounds;
        assertTrue(model.calls <= bound, model.calls + " calls for " + r.evaluations() + " rows; bound " + bound);
    }

    @Test
    void badArgumentsAreRejectedNamingTheArgument() {
        double[] labels = classLabels();
        labels[5] = 2;
        assertMessage(() -> sage(classifier(), Loss.CROSS_ENTROPY, labels, 64, 32, 0.1, 1 << 20),
                "labels: label 5 is 2.0; expected a class index in 0..1");
        assertMessage(() -> sage(classifier(), Loss.SQUARED_ERROR, labels, 64, 32, 0.1, 1 << 20),
                "loss: SQUARED_ERROR needs a model with 1 output; this one has 2");
        assertMessage(() -> new SageEstimator(regressor(), Players.singletons(M), BACKGROUND,
                SageEstimator.Settings.of(Loss.SQUARED_ERROR, SEED)).estimate(DATA, new double[3]),
                "labels: 3 labels for 400 rows");
        assertMessage(() -> new SageEstimator.Settings(Loss.SQUARED_ERROR, 10, 1, 0.1, 1 << 20, SEED),
                "pairsPerRound: 1 is below 2");
        assertMessage(() -> new SageEstimator.Settings(Loss.SQUARED_ERROR, 10, 20, 0.1, 1 << 20, SEED),
                "maxPermutationPairs: 10 is below pairsPerRound 20");
    }
}
