package io.candor.explain.shapley;

import io.candor.explain.shapley.ShapleyFixtures.RowModel;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.candor.explain.shapley.KernelShapEstimatorTest.assertArrayClose;
import static io.candor.explain.shapley.KernelShapEstimatorTest.assertMessage;
import static io.candor.explain.shapley.KernelShapEstimatorTest.coverage;
import static io.candor.explain.shapley.ShapleyFixtures.classifier;
import static io.candor.explain.shapley.ShapleyFixtures.gaussianRows;
import static io.candor.explain.shapley.ShapleyFixtures.ids;
import static io.candor.explain.shapley.ShapleyFixtures.interactions;
import static io.candor.explain.shapley.ShapleyFixtures.linear;
import static io.candor.explain.shapley.ShapleyFixtures.manyWay;
import static io.candor.explain.shapley.ShapleyFixtures.sum;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplingShapleyEstimatorTest {
    private static final long SEED = 977L;

    private static SamplingShapleyEstimator estimator(RowModel model, Background bg, int pairs, long seed,
                                                      long maxValues) {
        return new SamplingShapleyEstimator(model, Players.singletons(model.inputs()), bg,
                new SamplingShapleyEstimator.Settings(pairs, maxValues, seed, 0.01));
    }

    private static List<ShapleyRow> exact(RowModel model, Background bg, double[][] x) {
        return new KernelShapEstimator(model, Players.singletons(model.inputs()), bg,
                KernelShapEstimator.Settings.of(1 << 12, SEED)).explain(x, ids(x.length, 0), 0);
    }

    @Test
    void efficiencyHoldsForEveryRowAndOutput() {
        RowModel model = classifier(8);
        double[][] x = gaussianRows(1, 10, 8);
        List<ShapleyRow> rows = estimator(model, Background.uniform(gaussianRows(2, 6, 8)), 3, SEED, 1 << 22)
                .explainAllOutputs(x, ids(x.length, 0));
        assertEquals(20, rows.size());
        for (ShapleyRow r : rows) {
            assertEquals(r.prediction(), r.baseValue() + sum(r.phi()), 1e-9);
            assertEquals(model.predict(x[(int) r.rowId()], 1)[r.output()], r.prediction(), 1e-12);
        }
    }

    @Test
    void featureTheModelIgnoresGetsExactlyZeroWithZeroError() {
        RowModel model = interactions(6, 2);
        double[][] x = gaussianRows(3, 5, 6);
        for (ShapleyRow r : estimator(model, Background.uniform(gaussianRows(4, 5, 6)), 4, SEED, 1 << 22)
                .explain(x, ids(x.length, 0), 0)) {
            assertEquals(0, r.phi()[2], 1e-12);
            assertEquals(0, r.stdError()[2], 1e-12);
        }
    }

    @Test
    void linearModelGetsWeightTimesDeviationFromBackgroundMean() {
        double[] w = {2, -1, 0.5, 0, 3};
        Background bg = Background.weighted(gaussianRows(5, 4, 5), new double[] {1, 2, 3, 4});
        double[] mean = bg.mean();
        double[][] x = gaussianRows(6, 4, 5);
        List<ShapleyRow> rows = estimator(linear(w, -0.3), bg, 2, SEED, 1 << 22).explain(x, ids(4, 0), 0);
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < w.length; j++) {
                assertEquals(w[j] * (x[i][j] - mean[j]), rows.get(i).phi()[j], 1e-12);
            }
            assertTrue(rows.get(i).converged(), "no sampling error for an additive model");
        }
    }

    @Test
    void intervalsCoverExactValuesAtTenFeatures() {
        RowModel model = manyWay(10);
        Background bg = Background.uniform(gaussianRows(7, 10, 10));
        double[][] x = gaussianRows(8, 40, 10);
        List<ShapleyRow> est = estimator(model, bg, 40, SEED, 1 << 22).explain(x, ids(40, 0), 0);
        double coverage = coverage(exact(model, bg, x), est);
        assertTrue(coverage >= 0.90, "95% intervals covered the exact value in " + coverage + " of cases");
    }

    @Test
    void agreesWithKernelShapWithinTheirStandardErrors() {
        RowModel model = manyWay(10);
        Background bg = Background.uniform(gaussianRows(9, 10, 10));
        double[][] x = gaussianRows(10, 30, 10);
        List<ShapleyRow> castro = estimator(model, bg, 40, SEED, 1 << 22).explain(x, ids(30, 0), 0);
        List<ShapleyRow> kernel = new KernelShapEstimator(model, Players.singletons(10), bg,
                KernelShapEstimator.Settings.of(300, SEED)).explain(x, ids(30, 0), 0);
        int agree = 0;
        int total = 0;
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < 10; j++) {
                double a = castro.get(i).phi()[j];
                double b = kernel.get(i).phi()[j];
                double se = Math.hypot(castro.get(i).stdError()[j], kernel.get(i).stdError()[j]);
                total++;
                if (Math.abs(a - b) <= 1.96 * se) {
                    agree++;
                }
            }
        }
        assertTrue(agree >= 0.9 * total, agree + " of " + total + " differences within 1.96 combined errors");
    }

    @Test
    void predictIsCalledPerBatchNotPerRowOrPermutation() {
        RowModel model = classifier(6);
        Background bg = Background.uniform(gaussianRows(11, 5, 6));
        long budget = 800;
        double[][] x = gaussianRows(12, 12, 6);
        List<ShapleyRow> rows = estimator(model, bg, 5, SEED, budget).explainAllOutputs(x, ids(12, 0));
        long evaluations = bg.size();
        for (int i = 0; i < rows.size(); i += 2) {
            evaluations += rows.get(i).evaluations();
        }
        assertEquals(evaluations, model.rows);
        assertEquals(1 + 5 * 2 * 5 * 5, rows.get(0).evaluations(), "f(x) + pairs × 2 orders × 5 prefixes × 5 rows");
        long batchRows = budget / (6 + 2);
        long bound = (evaluations + batchRows - 1) / batchRows + 1;
        assertTrue(model.calls <= bound, model.calls + " calls for " + evaluations + " rows; bound " + bound);
    }

    @Test
    void sameSeedGivesIdenticalResultsAndChunkingDoesNotMatter() {
        RowModel model = manyWay(7);
        Background bg = Background.uniform(gaussianRows(13, 6, 7));
        double[][] x = gaussianRows(14, 6, 7);
        long[] ids = ids(6, 40);
        List<ShapleyRow> all = estimator(model, bg, 6, SEED, 1 << 22).explain(x, ids, 0);
        assertEquals(all, estimator(model, bg, 6, SEED, 1 << 22).explain(x, ids, 0));
        assertNotEquals(all.get(0).phi()[0], estimator(model, bg, 6, SEED + 1, 1 << 22)
                .explain(x, ids, 0).get(0).phi()[0]);
        SamplingShapleyEstimator small = estimator(model, bg, 6, SEED, 50);
        for (int i = 0; i < x.length; i++) {
            ShapleyRow one = small.explain(new double[][] {x[i]}, new long[] {ids[i]}, 0).get(0);
            assertArrayClose(all.get(i).phi(), one.phi(), 1e-12, "row " + i);
            assertArrayClose(all.get(i).stdError(), one.stdError(), 1e-12, "row " + i);
        }
    }

    @Test
    void badArgumentsAreRejectedNamingTheArgument() {
        RowModel model = classifier(3);
        Background bg = Background.uniform(gaussianRows(15, 2, 3));
        assertMessage(() -> SamplingShapleyEstimator.Settings.of(1, SEED), "permutationPairs: 1 is below 2");
        assertMessage(() -> estimator(model, bg, 2, SEED, 1 << 20).explain(gaussianRows(1, 1, 3), ids(1, 0), 5),
                "output: 5 is out of range; expected 0..1");
        assertMessage(() -> new SamplingShapleyEstimator.Settings(2, 100, SEED, Double.NaN), "convergenceThreshold");
    }
}
