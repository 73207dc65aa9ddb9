package io.candor.train;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link MetricStats}: merges in any grouping give the same doubles, and the sums are exact. */
class MetricStatsTest {
    private static long bits(double v) {
        return Double.doubleToRawLongBits(v);
    }

    @Test
    void regressionStatisticsMergedInAnyGroupingGiveTheSameDoubles() {
        SplittableRandom random = new SplittableRandom(1);
        int n = 1000;
        double[] pred = new double[n];
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            y[i] = Math.scalb(random.nextDouble() - 0.5, random.nextInt(-20, 20)); // wide range: order matters
            pred[i] = y[i] + random.nextGaussian();
        }
        MetricStats whole = MetricStats.regression();
        for (int i = 0; i < n; i++) {
            whole.add(pred[i], y[i]);
        }
        for (int chunks : new int[] {2, 5, 13}) {
            MetricStats[] parts = new MetricStats[chunks];
            for (int c = 0; c < chunks; c++) {
                parts[c] = MetricStats.regression();
            }
            for (int i = n - 1; i >= 0; i--) { // reverse order, round robin
                parts[i % chunks].add(pred[i], y[i]);
            }
            MetricStats merged = MetricStats.regression();
            for (int c = chunks - 1; c >= 0; c--) {
                merged.merge(parts[c]);
            }
            assertEquals(whole.rows(), merged.rows());
            assertEquals(bits(whole.rmse()), bits(merged.rmse()), chunks + " chunks rmse");
            assertEquals(bits(whole.mae()), bits(merged.mae()), chunks + " chunks mae");
            assertEquals(bits(whole.r2()), bits(merged.r2()), chunks + " chunks r2");
        }
    }

    @Test
    void sumsAreExactSoRmseIsTheCorrectlyRoundedReference() {
        // 1e16 and 1 do not add in doubles; the exact sum of squares still sees every 1.
        double[] residuals = {1e8, 1, 1, 1, -1e8, 1};
        MetricStats stats = MetricStats.regression();
        BigDecimal squares = BigDecimal.ZERO;
        for (double r : residuals) {
            stats.add(r, 0);
            squares = squares.add(new BigDecimal(r).multiply(new BigDecimal(r)));
        }
        double expected = Math.sqrt(squares.doubleValue() / residuals.length);
        assertEquals(bits(expected), bits(stats.rmse()));
    }

    @Test
    void r2OfConstantTargetsIsExactWhateverTheirValue() {
        // Three times 0.1: a floating mean is not exactly 0.1, so a naive SS_tot would be a tiny positive number.
        MetricStats perfect = MetricStats.regression().add(0.1, 0.1).add(0.1, 0.1).add(0.1, 0.1);
        assertEquals(1.0, perfect.r2(), 0.0);
        MetricStats off = MetricStats.regression().add(0.1, 0.1).add(0.2, 0.1).add(0.1, 0.1);
        assertEquals(0.0, off.r2(), 0.0);
        assertEquals(0.0, perfect.labelStd(), 0.0);
    }

    @Test
    void r2AndLabelStdMatchADecimalReferenceWhenTheMeanDwarfsTheSpread() {
        double[] y = {1e9 + 1, 1e9 + 2, 1e9 + 4, 1e9 + 7};
        double[] pred = {1e9 + 1.5, 1e9 + 2, 1e9 + 3, 1e9 + 7};
        MetricStats stats = MetricStats.regression();
        for (int i = 0; i < y.length; i++) {
            stats.add(pred[i], y[i]);
        }
        // mean 1e9 + 3.5; SS_tot = 6.25 + 2.25 + 0.25 + 12.25 = 21; SS_res = 0.25 + 0 + 1 + 0 = 1.25
        assertEquals(1 - 1.25 / 21, stats.r2(), 1e-15);
        assertEquals(Math.sqrt(21 / 4.0), stats.labelStd(), 1e-15);
        BigDecimal ratio = new BigDecimal("1.25").divide(new BigDecimal(21), MathContext.DECIMAL128);
        assertEquals(BigDecimal.ONE.subtract(ratio).doubleValue(), stats.r2(), 0.0);
    }

    @Test
    void classificationCountsLabelsAndRejectsBadRows() {
        MetricStats stats = MetricStats.classification(3);
        stats.add(new double[] {0.2, 0.5, 0.3}, 1).add(new double[] {0.6, 0.2, 0.2}, 2);
        assertEquals(2, stats.rows());
        assertEquals(1, stats.labelled(1));
        assertEquals(0, stats.labelled(0));
        assertEquals(0.5, stats.accuracy(), 0.0);
        assertThrows(IllegalArgumentException.class, () -> stats.add(new double[] {0.5, 0.5}, 0));
        assertThrows(IllegalArgumentException.class, () -> stats.add(new double[] {0.5, 0.5, 0}, 3));
        assertThrows(IllegalArgumentException.class, () -> stats.add(new double[] {Double.NaN, 0.5, 0}, 0));
        assertThrows(IllegalArgumentException.class, () -> MetricStats.classification(2).accuracy());
        assertThrows(IllegalArgumentException.class, () -> stats.merge(MetricStats.classification(2)));
    }
}
