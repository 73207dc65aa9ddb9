package io.candor.explain.shapley;

import io.candor.explain.shapley.ShapleyFixtures.RowModel;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.candor.explain.shapley.ShapleyFixtures.bruteForce;
import static io.candor.explain.shapley.ShapleyFixtures.classifier;
import static io.candor.explain.shapley.ShapleyFixtures.gaussianRows;
import static io.candor.explain.shapley.ShapleyFixtures.ids;
import static io.candor.explain.shapley.ShapleyFixtures.interactions;
import static io.candor.explain.shapley.ShapleyFixtures.linear;
import static io.candor.explain.shapley.ShapleyFixtures.manyWay;
import static io.candor.explain.shapley.ShapleyFixtures.sum;
import static io.candor.explain.shapley.ShapleyFixtures.uniformWeights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KernelShapEstimatorTest {
    private static final long SEED = 20240611L;

    private static KernelShapEstimator exact(RowModel model, Players players, Background bg) {
        return new KernelShapEstimator(model, players, bg, KernelShapEstimator.Settings.of(1 << 20, SEED));
    }

    @Test
    void exactModeEqualsBruteForceShapleyForUpToTenPlayers() {
        for (int m : new int[] {1, 2, 3, 5, 8, 10}) {
            RowModel model = m == 1 ? linear(new double[] {1.5}, 0.2) : interactions(m, -1);
            double[][] bgRows = gaussianRows(m, 6, m);
            double[] w = {1, 2, 3, 1, 0.5, 2};
            Background bg = Background.weighted(bgRows, w);
            double[][] x = gaussianRows(100 + m, 3, m);
            KernelShapEstimator est = exact(model, Players.singletons(m), bg);
            assertTrue(est.exact(), "M = " + m + " fits the budget");
            List<ShapleyRow> rows = est.explain(x, ids(x.length, 0), 0);
            List<int[]> singletons = Players.singletons(m).count() == m ? singletonGroups(m) : null;
            for (int i = 0; i < x.length; i++) {
                double[] reference = bruteForce(model, singletons, bgRows, w, x[i])[0];
                assertArrayClose(reference, rows.get(i).phi(), 1e-9, "M = " + m + ", row " + i);
            }
        }
    }

    @Test
    void exactModeEqualsBruteForceForGroupedPlayersAndEveryOutput() {
        RowModel model = classifier(12);
        List<int[]> groups = List.of(new int[] {0, 5}, new int[] {1}, new int[] {2, 3, 4}, new int[] {6, 11},
                new int[] {7}, new int[] {8, 9, 10});
        double[][] bgRows = gaussianRows(3, 5, 12);
        double[][] x = gaussianRows(4, 4, 12);
        KernelShapEstimator est = exact(model, Players.of(groups, 12), Background.uniform(bgRows));
        List<ShapleyRow> rows = est.explainAllOutputs(x, ids(x.length, 10));
        assertEquals(x.length * 2, rows.size());
        for (int i = 0; i < x.length; i++) {
            double[][] reference = bruteForce(model, groups, bgRows, uniformWeights(5), x[i]);
            for (int o = 0; o < 2; o++) {
                ShapleyRow r = rows.get(2 * i + o);
                assertEquals(10 + i, r.rowId());
                assertEquals(o, r.output());
                assertArrayClose(reference[o], r.phi(), 1e-9, "row " + i + " output " + o);
            }
        }
    }

    @Test
    void localAccuracyHoldsInExactAndSamplingModes() {
        RowModel model = interactions(10, -1);
        Background bg = Background.uniform(gaussianRows(1, 8, 10));
        double[][] x = gaussianRows(2, 10, 10);
        for (int budget : new int[] {1 << 12, 22, 64, 300}) {
            KernelShapEstimator est = new KernelShapEstimator(model, Players.singletons(10), bg,
                    KernelShapEstimator.Settings.of(budget, SEED));
            assertEquals(budget >= 1022, est.exact());
            for (ShapleyRow r : est.explain(x, ids(x.length, 0), 0)) {
                assertEquals(r.prediction(), r.baseValue() + sum(r.phi()), 1e-9, "budget " + budget);
                assertEquals(model.predict(x[(int) r.rowId()], 1)[0], r.prediction(), 1e-12);
            }
        }
    }

    @Test
    void featureTheModelIgnoresGetsZeroInExactMode() {
        RowModel model = interactions(7, 4);
        double[][] x = gaussianRows(5, 6, 7);
        List<ShapleyRow> rows = exact(model, Players.singletons(7), Background.uniform(gaussianRows(6, 9, 7)))
                .explain(x, ids(x.length, 0), 0);
        for (ShapleyRow r : rows) {
            assertTrue(Math.abs(r.phi()[4]) <= 1e-9, "phi[4] = " + r.phi()[4]);
            assertTrue(Math.abs(r.phi()[3]) > 1e-3, "a used feature keeps its value");
        }
    }

    @Test
    void interchangeableFeaturesGetEqualValuesInExactMode() {
        RowModel model = new RowModel(4, 1, v -> new double[] {v[0] * v[1] + Math.sin(v[0]) + Math.sin(v[1])
                + v[2] * v[0] * v[1] - 0.5 * v[3]});
        double[][] base = gaussianRows(8, 5, 4);
        double[][] bgRows = new double[10][];
        for (int b = 0; b < 5; b++) {
            bgRows[2 * b] = base[b];
            bgRows[2 * b + 1] = new double[] {base[b][1], base[b][0], base[b][2], base[b][3]};
        }
        double[][] x = gaussianRows(9, 5, 4);
        for (double[] row : x) {
            row[1] = row[0];
        }
        for (ShapleyRow r : exact(model, Players.singletons(4), Background.uniform(bgRows))
                .explain(x, ids(x.length, 0), 0)) {
            assertEquals(r.phi()[0], r.phi()[1], 1e-12);
            assertNotEquals(r.phi()[0], r.phi()[2], 1e-6);
        }
    }

    @Test
    void linearModelGetsWeightTimesDeviationFromBackgroundMeanInBothModes() {
        double[] w = {1.5, -2, 0.25, 3, 0, -0.75, 1, 2, -1, 0.5, 4, -3};
        RowModel model = linear(w, 0.9);
        double[][] bgRows = gaussianRows(11, 7, w.length);
        Background bg = Background.weighted(bgRows, new double[] {3, 1, 1, 2, 5, 1, 1});
        double[] mean = bg.mean();
        double[][] x = gaussianRows(12, 5, w.length);
        for (int budget : new int[] {1 << 12, 40}) {
            KernelShapEstimator est = new KernelShapEstimator(model, Players.singletons(w.length), bg,
                    KernelShapEstimator.Settings.of(budget, SEED));
            assertEquals(budget > 4000, est.exact());
            List<ShapleyRow> rows = est.explain(x, ids(x.length, 0), 0);
            for (int i = 0; i < x.length; i++) {
                for (int j = 0; j < w.length; j++) {
                    assertEquals(w[j] * (x[i][j] - mean[j]), rows.get(i).phi()[j], 1e-9,
                            "budget " + budget + ", row " + i + ", feature " + j);
                    assertTrue(rows.get(i).stdError()[j] <= 1e-9, "an additive model leaves no residuals");
                }
            }
        }
    }

    @Test
    void exactModeReportsZeroErrorsAndConverged() {
        double[][] x = gaussianRows(13, 3, 5);
        for (ShapleyRow r : exact(interactions(5, -1), Players.singletons(5),
                Background.uniform(gaussianRows(14, 4, 5))).explain(x, ids(3, 0), 0)) {
            assertTrue(r.converged());
            assertArrayClose(new double[5], r.stdError(), 0, "exact errors");
            assertEquals(30L * 4 + 1, r.evaluations(), "30 coalitions × 4 background rows + f(x)");
        }
    }

    @Test
    void samplingIntervalsCoverExactValuesAtTenFeatures() {
        int m = 10;
        RowModel model = manyWay(m);
        Background bg = Background.uniform(gaussianRows(15, 10, m));
        double[][] x = gaussianRows(16, 40, m);
        List<ShapleyRow> exact = exact(model, Players.singletons(m), bg).explain(x, ids(x.length, 0), 0);
        KernelShapEstimator sampled = new KernelShapEstimator(model, Players.singletons(m), bg,
                KernelShapEstimator.Settings.of(300, SEED));
        assertFalse(sampled.exact());
        List<ShapleyRow> est = sampled.explain(x, ids(x.length, 0), 0);
        double coverage = coverage(exact, est);
        assertTrue(coverage >= 0.90, "95% intervals covered the exact value in " + coverage + " of cases");
        assertTrue(est.stream().allMatch(r -> r.stdError()[0] > 0), "an interacting model leaves sampling error");
    }

    @Test
    void jackknifeErrorsEqualLeaveOnePairOutRecomputation() {
        int m = 6;
        RowModel model = manyWay(m);
        Players players = Players.singletons(m);
        Background bg = Background.uniform(gaussianRows(30, 5, m));
        KernelShapEstimator est = new KernelShapEstimator(model, players, bg, KernelShapEstimator.Settings.of(40, SEED));
        assertFalse(est.exact());
        double[] x = gaussianRows(31, 1, m)[0];
        ShapleyRow r = est.explain(new double[][] {x}, new long[] {7}, 0).get(0);

        KernelShapEstimator.Design d = est.plan(7);
        boolean[][] z = d.coalitions();
        double[] v = new CoalitionEvaluator(model, players, bg, 1 << 20).evaluate(new double[][] {x}, new int[z.length], z);
        double[] y = new double[z.length];
        for (int k = 0; k < z.length; k++) {
            y[k] = v[k] - r.baseValue();
        }
        double delta = r.prediction() - r.baseValue();
        assertArrayClose(constrainedWls(z, d.weights(), y, delta), r.phi(), 1e-9, "full-sample estimate");

        int pairs = (z.length - d.sampledFrom()) / 2;
        double[][] loo = new double[pairs][];
        double[] mean = new double[m];
        for (int q = 0; q < pairs; q++) {
            double[] w = d.weights().clone();
            for (int k = d.sampledFrom(); k < z.length; k++) {
                w[k] = (k - d.sampledFrom()) / 2 == q ? 0 : d.sampledMass() / (2.0 * (pairs - 1));
            }
            loo[q] = constrainedWls(z, w, y, delta);
            for (int i = 0; i < m; i++) {
                mean[i] += loo[q][i] / pairs;
            }
        }
        double[] se = new double[m];
        for (int i = 0; i < m; i++) {
            for (int q = 0; q < pairs; q++) {
                se[i] += (loo[q][i] - mean[i]) * (loo[q][i] - mean[i]);
            }
            se[i] = Math.sqrt(se[i] * (pairs - 1) / pairs);
        }
        assertArrayClose(se, r.stdError(), 1e-9, "jackknife errors");
    }

    @Test
    void onePairLeftForSamplingGivesUnknownErrorsAndNotConverged() {
        KernelShapEstimator est = new KernelShapEstimator(interactions(4, -1), Players.singletons(4),
                Background.uniform(gaussianRows(17, 3, 4)), KernelShapEstimator.Settings.of(10, SEED));
        assertEquals(10, est.coalitionsPerRow(), "sizes 1 and 3 enumerated (8) plus one sampled pair");
        ShapleyRow r = est.explain(gaussianRows(18, 1, 4), new long[] {0}, 0).get(0);
        assertTrue(Double.isNaN(r.stdError()[0]));
        assertFalse(r.converged());
        assertEquals(r.prediction(), r.baseValue() + sum(r.phi()), 1e-9);
    }

    @Test
    void predictIsCalledPerBatchNotPerRowOrCoalition() {
        RowModel model = classifier(10);
        Background bg = Background.uniform(gaussianRows(19, 7, 10));
        long budget = 1200;
        KernelShapEstimator est = new KernelShapEstimator(model, Players.singletons(10), bg,
                new KernelShapEstimator.Settings(120, budget, SEED, 0.01));
        double[][] x = gaussianRows(20, 30, 10);
        List<ShapleyRow> rows = est.explainAllOutputs(x, ids(x.length, 0));
        long evaluations = bg.size();
        for (int i = 0; i < rows.size(); i += 2) {
            evaluations += rows.get(i).evaluations();
        }
        assertEquals(evaluations, model.rows, "every model row is accounted for");
        long batchRows = budget / (10 + 2);
        long bound = (evaluations + batchRows - 1) / batchRows + 1;
        assertTrue(model.calls <= bound, model.calls + " calls for " + evaluations + " rows; bound " + bound);
        assertTrue(model.calls < x.length * 120L / 8, "far fewer calls than coalitions");

        RowModel roomy = classifier(10);
        new KernelShapEstimator(roomy, Players.singletons(10), bg, KernelShapEstimator.Settings.of(120, SEED))
                .explainAllOutputs(x, ids(x.length, 0));
        assertEquals(1, roomy.calls, "all rows, coalitions and background rows in one call under the default budget");
    }

    @Test
    void sameSeedGivesIdenticalResultsAndOtherSeedsDiffer() {
        RowModel model = interactions(10, -1);
        Background bg = Background.uniform(gaussianRows(21, 6, 10));
        double[][] x = gaussianRows(22, 5, 10);
        List<ShapleyRow> a = sampling(model, bg, SEED, 1 << 22).explain(x, ids(5, 0), 0);
        List<ShapleyRow> b = sampling(model, bg, SEED, 1 << 22).explain(x, ids(5, 0), 0);
        List<ShapleyRow> c = sampling(model, bg, SEED + 1, 1 << 22).explain(x, ids(5, 0), 0);
        assertEquals(a, b);
        assertNotEquals(a.get(0).phi()[0], c.get(0).phi()[0]);
    }

    @Test
    void resultsDoNotDependOnRowChunkingOrBatchSize() {
        RowModel model = classifier(10);
        Background bg = Background.uniform(gaussianRows(23, 6, 10));
        double[][] x = gaussianRows(24, 8, 10);
        long[] ids = ids(8, 500);
        List<ShapleyRow> all = sampling(model, bg, SEED, 1 << 22).explainAllOutputs(x, ids);
        KernelShapEstimator small = sampling(model, bg, SEED, 100);
        for (int i = 0; i < x.length; i++) {
            List<ShapleyRow> one = small.explainAllOutputs(new double[][] {x[i]}, new long[] {ids[i]});
            for (int o = 0; o < 2; o++) {
                ShapleyRow expected = all.get(2 * i + o);
                ShapleyRow got = one.get(o);
                assertEquals(expected.rowId(), got.rowId());
                assertArrayClose(expected.phi(), got.phi(), 1e-12, "row " + i);
                assertArrayClose(expected.stdError(), got.stdError(), 1e-12, "row " + i);
                assertEquals(expected.baseValue(), got.baseValue(), 1e-12);
            }
        }
    }

    @Test
    void budgetTooSmallToSampleIsRejectedNamingTheArgument() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new KernelShapEstimator(
                interactions(10, -1), Players.singletons(10), Background.uniform(gaussianRows(25, 2, 10)),
                KernelShapEstimator.Settings.of(21, SEED)));
        assertTrue(e.getMessage().contains("maxCoalitions: 21") && e.getMessage().contains("2M+2 = 22"),
                e.getMessage());
    }

    @Test
    void badArgumentsAreRejectedNamingTheArgument() {
        RowModel model = classifier(4);
        Background bg = Background.uniform(gaussianRows(26, 2, 4));
        KernelShapEstimator est = exact(model, Players.singletons(4), bg);
        double[][] x = gaussianRows(27, 2, 4);
        assertMessage(() -> est.explain(x, ids(2, 0), 2), "output: 2 is out of range; expected 0..1");
        assertMessage(() -> est.explain(x, ids(2, 0), -1), "output: -1");
        assertMessage(() -> est.explain(x, ids(3, 0), 0), "rowIds: 3 ids for 2 rows");
        assertMessage(() -> est.explain(new double[][] {{1, 2, 3}}, ids(1, 0), 0), "rows: row 0 has 3 values");
        assertMessage(() -> exact(model, Players.singletons(4), Background.uniform(gaussianRows(1, 2, 5))),
                "background: rows have 5 values; expected the model's 4");
        assertMessage(() -> exact(model, Players.singletons(5), bg), "players: groups partition 5 inputs");
        assertMessage(() -> new KernelShapEstimator(model, Players.singletons(4), bg,
                new KernelShapEstimator.Settings(100, 5, SEED, 0.01)), "maxValuesPerBatch: 5 is below 6");
        assertMessage(() -> KernelShapEstimator.Settings.of(0, SEED), "maxCoalitions: 0");
        assertMessage(() -> new KernelShapEstimator.Settings(100, 1000, SEED, -1), "convergenceThreshold: -1");
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    private static KernelShapEstimator sampling(RowModel model, Background bg, long seed, long maxValues) {
        return new KernelShapEstimator(model, Players.singletons(model.inputs()), bg,
                new KernelShapEstimator.Settings(150, maxValues, seed, 0.01));
    }

    /** Share of (row, feature) whose 95% normal interval around the estimate holds the exact value. */
    static double coverage(List<ShapleyRow> exact, List<ShapleyRow> estimated) {
        int covered = 0;
        int total = 0;
        for (int i = 0; i < exact.size(); i++) {
            double[] truth = exact.get(i).phi();
            double[] phi = estimated.get(i).phi();
            double[] se = estimated.get(i).stdError();
            for (int j = 0; j < truth.length; j++) {
                total++;
                if (Math.abs(phi[j] - truth[j]) <= 1.96 * se[j] + 1e-12) {
                    covered++;
                }
            }
        }
        return covered / (double) total;
    }

    /**
     * {@code min Σ w (y − zᵀφ)² s.t. Σφ = Δ} by substituting {@code φ_last = Δ − Σ_others φ} and solving the normal
     * equations by plain Gaussian elimination: a second, independent route to the constrained regression.
     */
    private static double[] constrainedWls(boolean[][] z, double[] w, double[] y, double delta) {
        int m = z[0].length;
        int p = m - 1;
        double[][] a = new double[p][p + 1];
        for (int k = 0; k < z.length; k++) {
            double last = z[k][m - 1] ? 1 : 0;
            double target = y[k] - last * delta;
            double[] row = new double[p];
            for (int i = 0; i < p; i++) {
                row[i] = (z[k][i] ? 1 : 0) - last;
            }
            for (int i = 0; i < p; i++) {
                for (int j = 0; j < p; j++) {
                    a[i][j] += w[k] * row[i] * row[j];
                }
                a[i][p] += w[k] * row[i] * target;
            }
        }
        for (int c = 0; c < p; c++) {
            int piv = c;
            for (int r = c + 1; r < p; r++) {
                if (Math.abs(a[r][c]) > Math.abs(a[piv][c])) {
                    piv = r;
                }
            }
            double[] t = a[c];
            a[c] = a[piv];
            a[piv] = t;
            for (int r = 0; r < p; r++) {
                if (r != c) {
                    double f = a[r][c] / a[c][c];
                    for (int j = c; j <= p; j++) {
                        a[r][j] -= f * a[c][j];
                    }
                }
            }
        }
        double[] phi = new double[m];
        double rest = delta;
        for (int i = 0; i < p; i++) {
            phi[i] = a[i][p] / a[i][i];
            rest -= phi[i];
        }
        phi[m - 1] = rest;
        return phi;
    }

    private static List<int[]> singletonGroups(int m) {
        Players p = Players.singletons(m);
        java.util.ArrayList<int[]> g = new java.util.ArrayList<>();
        for (int i = 0; i < m; i++) {
            g.add(p.group(i));
        }
        return g;
    }

    static void assertArrayClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol, what + ": element " + i);
        }
    }

    static void assertMessage(org.junit.jupiter.api.function.Executable call, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }
}
