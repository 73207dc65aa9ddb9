package io.candor.explain.shapley;

import io.candor.explain.shapley.ShapleyFixtures.RowModel;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.candor.explain.shapley.ShapleyFixtures.classifier;
import static io.candor.explain.shapley.ShapleyFixtures.gaussianRows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class CoalitionEvaluatorTest {
    private static final List<int[]> GROUPS = List.of(new int[] {0, 3}, new int[] {1}, new int[] {2, 4});

    /** {@code Σ_b w_b f(x_S, bg_b)} one model row at a time, straight from the definition. */
    private static double[] direct(RowModel model, double[][] bg, double[] w, double[] x, boolean[] s) {
        double[] v = new double[model.outputs()];
        double total = ShapleyFixtures.sum(w);
        for (int b = 0; b < bg.length; b++) {
            double[] row = bg[b].clone();
            for (int p = 0; p < s.length; p++) {
                if (s[p]) {
                    for (int col : GROUPS.get(p)) {
                        row[col] = x[col];
                    }
                }
            }
            double[] y = model.predict(row, 1);
            for (int o = 0; o < v.length; o++) {
                v[o] += w[b] / total * y[o];
            }
        }
        return v;
    }

    @Test
    void valuesFollowTheDefinitionAndDoNotDependOnBatchSize() {
        RowModel model = classifier(5);
        double[][] bg = gaussianRows(1, 7, 5);
        double[] w = {1, 2, 1, 3, 1, 1, 4};
        double[][] xs = gaussianRows(2, 3, 5);
        int[] rowOf = {0, 1, 2, 0, 1, 2, 2};
        boolean[][] s = {{true, false, false}, {false, false, false}, {true, true, true}, {false, true, true},
            {true, false, true}, {false, true, false}, {true, true, false}};
        double[] big = new CoalitionEvaluator(model, Players.of(GROUPS, 5), Background.weighted(bg, w), 1 << 20)
                .evaluate(xs, rowOf, s);
        for (int t = 0; t < s.length; t++) {
            double[] expected = direct(model, bg, w, xs[rowOf[t]], s[t]);
            assertArrayEquals(expected, new double[] {big[2 * t], big[2 * t + 1]}, 1e-14, "task " + t);
        }
        // three rows per call: background rows of one coalition are split across calls
        RowModel counted = classifier(5);
        CoalitionEvaluator small = new CoalitionEvaluator(counted, Players.of(GROUPS, 5),
                Background.weighted(bg, w), 3 * 7);
        assertEquals(3, small.batchRows());
        double[] split = small.evaluate(xs, rowOf, s);
        assertArrayEquals(big, split, 0, "sums run in background order whatever the batch boundaries");
        long rows = 6 * 7 + 1;
        assertEquals(rows, counted.rows, "the grand coalition costs one row");
        assertEquals((rows + 2) / 3, counted.calls, "ceil(rows / batch rows) calls");
    }
}
