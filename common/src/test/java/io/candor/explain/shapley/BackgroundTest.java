package io.candor.explain.shapley;

import org.junit.jupiter.api.Test;

import static io.candor.explain.shapley.KernelShapEstimatorTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class BackgroundTest {
    @Test
    void weightsAreNormalisedToSumToOne() {
        Background bg = Background.weighted(new double[][] {{0, 10}, {4, 20}}, new double[] {3, 1});
        assertEquals(0.75, bg.weight(0), 1e-15);
        assertEquals(0.25, bg.weight(1), 1e-15);
        assertArrayEquals(new double[] {1, 12.5}, bg.mean(), 1e-12);
        Background uniform = Background.uniform(new double[][] {{1}, {2}, {6}});
        assertEquals(1.0 / 3, uniform.weight(2), 1e-15);
        assertArrayEquals(new double[] {3}, uniform.mean(), 1e-12);
    }

    @Test
    void rowsAreCopiedSoLaterChangesDoNotLeakIn() {
        double[][] rows = {{1, 2}};
        Background bg = Background.uniform(rows);
        rows[0][0] = 99;
        bg.row(0)[1] = 99;
        assertArrayEquals(new double[] {1, 2}, bg.row(0));
    }

    @Test
    void badRowsAndWeightsAreRejectedNamingTheArgument() {
        assertMessage(() -> Background.uniform(new double[0][]), "background: no rows");
        assertMessage(() -> Background.uniform(new double[][] {{1, 2}, {3}}),
                "background: row 1 has 1 values; expected 2 like row 0");
        assertMessage(() -> Background.uniform(new double[][] {{1, Double.NaN}}),
                "background: row 0 column 1 is NaN; expected a finite value");
        assertMessage(() -> Background.weighted(new double[][] {{1}, {2}}, new double[] {1}),
                "background weights: 1 weights for 2 rows; expected one weight per row");
        assertMessage(() -> Background.weighted(new double[][] {{1}, {2}}, new double[] {1, -0.5}),
                "background weights: weight 1 is -0.5; expected a finite value >= 0");
        assertMessage(() -> Background.weighted(new double[][] {{1}, {2}}, new double[] {0, 0}),
                "background weights: they sum to 0.0; expected a positive sum");
    }
}
