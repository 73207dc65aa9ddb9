package io.candor.quant;

import io.candor.util.Seeds;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.SplittableRandom;

import static io.candor.quant.QuantParamsTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StraightThroughEstimatorTest {
    private static final long SEED = 1308_3432L;

    @Test
    void gradientIsExactlyZeroOutsideAndExactlyTheUpstreamInsideTheRange() {
        double min = -1.25;
        double max = 3.5;
        SplittableRandom rnd = Seeds.stream(SEED, 1);
        int n = 4000;
        double[] x = new double[n];
        double[] g = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = -6 + 15 * rnd.nextDouble();
            g[i] = rnd.nextGaussian() * 1e3;
        }
        INDArray grad = StraightThroughEstimator.backward(Nd4j.create(g, new long[] {40, 100}),
                Nd4j.create(x, new long[] {40, 100}), min, max);
        double[] out = grad.dup('c').data().asDouble();
        int inside = 0;
        for (int i = 0; i < n; i++) {
            if (x[i] >= min && x[i] <= max) {
                assertEquals(g[i], out[i], 0.0, "inside: identity");
                inside++;
            } else {
                assertEquals(0.0, out[i], 0.0, "outside: zero");
            }
        }
        assertTrue(inside > n / 4 && inside < 3 * n / 4, "both sides were sampled");
    }

    @Test
    void valuesExactlyAtTheBoundsAreInsideAndTheirNeighboursOutside() {
        double min = -0.5;
        double max = 2.0;
        double[] x = {Math.nextDown(min), min, Math.nextUp(min), 0, Math.nextDown(max), max, Math.nextUp(max)};
        INDArray xs = Nd4j.create(x, new long[] {1, x.length});
        assertArrayEquals(new double[] {0, 1, 1, 1, 1, 1, 0},
                StraightThroughEstimator.mask(xs, min, max).dup('c').data().asDouble(), 0.0);
        INDArray upstream = Nd4j.create(new double[] {7, 7, 7, 7, 7, 7, 7}, new long[] {1, x.length});
        assertArrayEquals(new double[] {0, 7, 7, 7, 7, 7, 0},
                StraightThroughEstimator.backward(upstream, xs, min, max).dup('c').data().asDouble(), 0.0);
    }

    @Test
    void nonFiniteUpstreamGradientsOutsideTheRangeBecomeExactlyZero() {
        INDArray x = Nd4j.create(new double[] {-9, 0.5, 9, Double.NaN}, new long[] {4});
        INDArray upstream = Nd4j.create(new double[] {Double.POSITIVE_INFINITY, 2, Double.NaN, 1}, new long[] {4});
        assertArrayEquals(new double[] {0, 2, 0, 0},
                StraightThroughEstimator.backward(upstream, x, 0, 1).data().asDouble(), 0.0);
    }

    @Test
    void theRangeOfActivationParamsGivesTheGradientOfTheirFakeQuant() {
        QuantParams p = QuantParams.asymmetricUint8(-0.8, 3.1);
        double lo = p.rangeMin(0);
        double hi = p.rangeMax(0);
        double[] x = {lo - 0.1, lo, 0, hi, hi + 0.1};
        INDArray mask = StraightThroughEstimator.mask(Nd4j.create(x, new long[] {5}), lo, hi);
        assertArrayEquals(new double[] {0, 1, 1, 1, 0}, mask.data().asDouble(), 0.0);
        assertEquals(p.fakeQuant(lo - 0.1, 0), p.fakeQuant(lo - 0.2, 0), 0.0, "flat outside: zero gradient");
    }

    @Test
    void maskAndGradientKeepShapeAndDataType() {
        INDArray x = Nd4j.create(new float[] {-2f, 0f, 2f, 0.5f, 1f, 1.5f}, new long[] {2, 3});
        INDArray mask = StraightThroughEstimator.mask(x, 0, 1);
        assertEquals(DataType.FLOAT, mask.dataType());
        assertArrayEquals(new long[] {2, 3}, mask.shape());
        assertEquals(1f, mask.getFloat(1, 1), 0f);
        assertEquals(0f, mask.getFloat(1, 2), 0f);
        INDArray view = Nd4j.create(new double[][] {{-2, 9}, {0.5, 9}}).getColumn(0);
        assertArrayEquals(new double[] {0, 1}, StraightThroughEstimator.mask(view, 0, 1).data().asDouble(), 0.0);
    }

    @Test
    void badArgumentsAreRejectedNamingThem() {
        INDArray x = Nd4j.zeros(DataType.DOUBLE, 2, 2);
        assertMessage(() -> StraightThroughEstimator.mask(x, 1, 0), "clipping range: [1.0, 0.0] is not a range");
        assertMessage(() -> StraightThroughEstimator.backward(Nd4j.zeros(DataType.DOUBLE, 4), x, 0, 1),
                "upstream: shape [4]; expected the input's shape [2, 2]");
    }
}
