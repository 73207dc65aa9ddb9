package io.candor.quant;

import io.candor.util.Seeds;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantParamsTest {
    private static final long SEED = 20181215L;

    @ParameterizedTest
    @ValueSource(ints = {8, 4, 2})
    void weightFakeQuantErrorIsAtMostHalfAStepInsideTheRangeOfEveryChannel(int bits) {
        INDArray w = denseWithChannelMagnitudes(7, new double[] {0.01, 1, 250, 3e-4}, bits);
        QuantParams p = QuantParams.symmetricPerChannel(w, ChannelAxis.DENSE, bits);
        SplittableRandom rnd = Seeds.stream(SEED, bits);
        for (int c = 0; c < p.channels(); c++) {
            double s = p.scale(c);
            double lo = p.rangeMin(c);
            double hi = p.rangeMax(c);
            for (int i = 0; i < 2000; i++) {
                assertHalfStep(p, c, lo + (hi - lo) * rnd.nextDouble());
            }
            for (int k = p.qmin(); k < p.qmax(); k++) {
                assertHalfStep(p, c, s * (k + 0.5));
                assertEquals(s * k, p.fakeQuant(s * k, c), 1e-12 * s, "grid point is kept");
            }
            assertHalfStep(p, c, lo);
            assertHalfStep(p, c, hi);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {8, 4, 2})
    void valuesOutsideTheRangeClipToTheRangeEnd(int bits) {
        INDArray w = denseWithChannelMagnitudes(5, new double[] {0.5, 40}, bits);
        QuantParams p = QuantParams.symmetricPerChannel(w, ChannelAxis.DENSE, bits);
        for (int c = 0; c < p.channels(); c++) {
            double hi = p.rangeMax(c);
            assertEquals(-hi, p.rangeMin(c), 0.0, "symmetric range");
            for (double x : new double[] {hi * 1.0001, hi * 3, 1e30}) {
                assertEquals(hi, p.fakeQuant(x, c), 0.0);
                assertEquals(-hi, p.fakeQuant(-x, c), 0.0);
                assertEquals(p.qmax(), p.quantize(x, c));
                assertEquals(p.qmin(), p.quantize(-x, c));
            }
        }
        INDArray outside = w.mul(10);
        INDArray fq = FakeQuant.perChannel(outside, ChannelAxis.DENSE, p);
        for (int c = 0; c < p.channels(); c++) {
            for (int r = 0; r < w.rows(); r++) {
                double x = outside.getDouble(r, c);
                double expected = Math.abs(x) > p.rangeMax(c) ? Math.copySign(p.rangeMax(c), x) : p.fakeQuant(x, c);
                assertEquals(expected, fq.getDouble(r, c), 0.0);
            }
        }
    }

    @Test
    void restrictedSymmetricRangeMapsTheLargestWeightToPlusOrMinusQmax() {
        assertEquals(127, QuantParams.symmetricQmax(8));
        assertEquals(7, QuantParams.symmetricQmax(4));
        assertEquals(1, QuantParams.symmetricQmax(2));
        INDArray w = Nd4j.create(new double[][] {{-3.0}, {1.5}, {0.75}});
        QuantParams p = QuantParams.symmetricPerChannel(w, ChannelAxis.DENSE, 8);
        assertEquals(-127, p.qmin());
        assertEquals(127, p.qmax());
        assertEquals(0, p.zeroPoint(0));
        assertEquals(-127, p.quantize(-3.0, 0));
        assertEquals(-3.0, p.fakeQuant(-3.0, 0), 1e-15);
        assertEquals(-p.quantize(1.5, 0), p.quantize(-1.5, 0), "w and -w quantize to opposite integers");
    }

    @Test
    void roundingIsHalfToEven() {
        INDArray w = Nd4j.create(new double[][] {{7.0}});
        QuantParams p = QuantParams.symmetricPerChannel(w, ChannelAxis.DENSE, 4);
        assertEquals(1.0, p.scale(0), 0.0);
        assertEquals(0, p.quantize(0.5, 0));
        assertEquals(2, p.quantize(1.5, 0));
        assertEquals(2, p.quantize(2.5, 0));
        assertEquals(-2, p.quantize(-2.5, 0));
        assertEquals(-4, p.quantize(-3.5, 0));
    }

    @Test
    void denseScalesArePerOutputColumnEachMaxAbsOverQmax() {
        double[][] w = {
            {0.001, -50.0, 2.0},
            {-0.004, 10.0, 0.5},
            {0.002, 25.0, -1.0},
        };
        QuantParams p = QuantParams.symmetricPerChannel(Nd4j.create(w), ChannelAxis.DENSE, 8);
        assertEquals(3, p.channels());
        assertEquals(0.004 / 127, p.scale(0), 1e-18);
        assertEquals(50.0 / 127, p.scale(1), 1e-15);
        assertEquals(2.0 / 127, p.scale(2), 1e-15);
        assertNotEquals(p.scale(0), p.scale(1));
        QuantParams fourBit = QuantParams.symmetricPerChannel(Nd4j.create(w), ChannelAxis.DENSE, 4);
        assertEquals(50.0 / 7, fourBit.scale(1), 1e-14);
    }

    @Test
    void convScalesArePerFirstDimension() {
        INDArray w = Nd4j.zeros(DataType.DOUBLE, 3, 2, 2, 2);
        double[] magnitude = {0.03, 7.0, 900.0};
        SplittableRandom rnd = Seeds.stream(SEED, 99);
        for (int o = 0; o < 3; o++) {
            for (int i = 0; i < 2; i++) {
                for (int h = 0; h < 2; h++) {
                    for (int k = 0; k < 2; k++) {
                        w.putScalar(new long[] {o, i, h, k}, magnitude[o] * (rnd.nextDouble() - 0.5));
                    }
                }
            }
        }
        w.putScalar(new long[] {0, 1, 1, 0}, -magnitude[0]);
        w.putScalar(new long[] {1, 0, 0, 1}, magnitude[1]);
        w.putScalar(new long[] {2, 1, 0, 1}, -magnitude[2]);
        QuantParams p = QuantParams.symmetricPerChannel(w, ChannelAxis.CONV2D, 8);
        assertEquals(3, p.channels());
        for (int o = 0; o < 3; o++) {
            assertEquals(magnitude[o] / 127, p.scale(o), 1e-15 * magnitude[o]);
        }
        INDArray fq = FakeQuant.perChannel(w, ChannelAxis.CONV2D, p);
        assertEquals(DataType.DOUBLE, fq.dataType());
        for (int o = 0; o < 3; o++) {
            INDArray diff = fq.slice(o).sub(w.slice(o));
            assertTrue(diff.amaxNumber().doubleValue() <= p.scale(o) / 2 * (1 + 1e-12), "channel " + o);
        }
    }

    @Test
    void theAxisConventionMattersForANonSquareDenseMatrix() {
        INDArray w = Nd4j.create(new double[][] {{1, 100}, {2, 200}, {3, 300}});
        QuantParams dense = QuantParams.symmetricPerChannel(w, ChannelAxis.DENSE, 8);
        assertEquals(2, dense.channels(), "nOut = columns");
        assertEquals(3.0 / 127, dense.scale(0), 1e-15);
        assertEquals(300.0 / 127, dense.scale(1), 1e-13);
        assertThrows(IllegalArgumentException.class,
                () -> QuantParams.symmetricPerChannel(w, ChannelAxis.CONV2D, 8));
    }

    @Test
    void anAllZeroChannelGetsTheTinyPositiveScaleAndStaysZero() {
        INDArray w = Nd4j.create(new double[][] {{0.0, 1.0}, {0.0, -2.0}});
        QuantParams p = QuantParams.symmetricPerChannel(w, ChannelAxis.DENSE, 4);
        assertEquals(QuantParams.MIN_SCALE, p.scale(0), 0.0);
        assertTrue(p.scale(0) > 0 && (float) p.scale(0) > 0 && Float.isFinite(1 / (float) p.scale(0)));
        INDArray fq = FakeQuant.weights(w, ChannelAxis.DENSE, 4);
        assertEquals(0.0, fq.getDouble(0, 0), 0.0);
        assertEquals(0.0, fq.getDouble(1, 0), 0.0);
        assertEquals(2.0 / 7, p.scale(1), 1e-15, "the other channel is unaffected");
        QuantParams zeroRange = QuantParams.asymmetricUint8(0, 0);
        assertEquals(QuantParams.MIN_SCALE, zeroRange.scale(0), 0.0);
        assertEquals(0.0, zeroRange.fakeQuant(0, 0), 0.0);
    }

    @Test
    void zeroIsExactlyRepresentableInActivationRanges() {
        SplittableRandom rnd = Seeds.stream(SEED, 7);
        double[][] ranges = {{-1.0, 1.0}, {-0.3, 5.7}, {-6.0, 0.01}, {0.0, 6.0}, {-2.0, 0.0}, {1e-3, 1e-3 + 1e-9}};
        for (int i = 0; i < ranges.length + 200; i++) {
            double min;
            double max;
            if (i < ranges.length) {
                min = ranges[i][0];
                max = ranges[i][1];
            } else {
                min = -10 * rnd.nextDouble() * rnd.nextDouble();
                max = 10 * rnd.nextDouble();
            }
            QuantParams p = QuantParams.asymmetricUint8(min, max);
            String range = "[" + min + ", " + max + "]";
            assertEquals(0.0, p.fakeQuant(0.0, 0), 0.0, range);
            assertEquals(p.zeroPoint(0), p.quantize(0.0, 0), range);
            assertTrue(p.zeroPoint(0) >= 0 && p.zeroPoint(0) <= 255, range);
            assertEquals(0, p.qmin());
            assertEquals(255, p.qmax());
            assertTrue(p.rangeMin(0) <= 0 && p.rangeMax(0) >= 0, range);
        }
    }

    @Test
    void aRangeEntirelyAboveZeroIsWidenedToZero() {
        QuantParams p = QuantParams.asymmetricUint8(2.0, 5.1);
        assertEquals(0, p.zeroPoint(0));
        assertEquals(5.1 / 255, p.scale(0), 1e-15);
        assertEquals(0.0, p.rangeMin(0), 0.0);
        assertEquals(5.1, p.rangeMax(0), 1e-12);
        assertEquals(0.0, p.fakeQuant(0.0, 0), 0.0);
        assertEquals(0.0, p.fakeQuant(-3.0, 0), 0.0, "clips to the widened range end");
        QuantParams below = QuantParams.asymmetricUint8(-4.0, -1.0);
        assertEquals(255, below.zeroPoint(0));
        assertEquals(0.0, below.rangeMax(0), 0.0);
        assertEquals(0.0, below.fakeQuant(0.0, 0), 0.0);
    }

    @Test
    void activationFakeQuantErrorIsAtMostHalfAStepInsideTheCalibratedRange() {
        SplittableRandom rnd = Seeds.stream(SEED, 8);
        for (double[] r : new double[][] {{-0.37, 4.2}, {-3.0, 3.0}, {0.5, 2.0}, {-1e-4, 9.99}}) {
            QuantParams p = QuantParams.asymmetricUint8(r[0], r[1]);
            double lo = Math.min(r[0], 0);
            double hi = Math.max(r[1], 0);
            for (int i = 0; i < 5000; i++) {
                assertHalfStep(p, 0, lo + (hi - lo) * rnd.nextDouble());
            }
            assertHalfStep(p, 0, lo);
            assertHalfStep(p, 0, hi);
            assertEquals(p.rangeMax(0), p.fakeQuant(hi + 1, 0), 0.0);
            assertEquals(p.rangeMin(0), p.fakeQuant(lo - 1, 0), 0.0);
        }
        INDArray x = Nd4j.create(new float[] {-1f, -0.2f, 0f, 0.3f, 7f}, new long[] {1, 5});
        QuantParams p = QuantParams.asymmetricUint8(-0.5, 4.0);
        INDArray fq = FakeQuant.perTensor(x, p);
        assertEquals(DataType.FLOAT, fq.dataType());
        for (int j = 0; j < 5; j++) {
            assertEquals((float) p.fakeQuant(x.getDouble(0, j), 0), fq.getFloat(0, j), 0f);
        }
    }

    @Test
    void badArgumentsAreRejectedNamingThem() {
        INDArray w = Nd4j.create(new double[][] {{1, 2}});
        assertMessage(() -> QuantParams.symmetricPerChannel(w, ChannelAxis.DENSE, 9),
                "bits: 9 is outside 2..8");
        assertMessage(() -> QuantParams.symmetricPerChannel(w, ChannelAxis.DENSE, 1), "bits: 1 is outside 2..8");
        assertMessage(() -> QuantParams.symmetricPerChannel(Nd4j.create(new double[][] {{1, Double.NaN}}),
                ChannelAxis.DENSE, 8), "weights: channel 1 holds NaN");
        assertMessage(() -> QuantParams.symmetricPerChannel(w, ChannelAxis.CONV2D, 8),
                "weights: shape [1, 2] for CONV2D; expected rank 4 [nOut, nIn, kH, kW]");
        assertMessage(() -> QuantParams.asymmetricUint8(3, 1), "activation range: [3.0, 1.0] is not a range");
        assertMessage(() -> QuantParams.asymmetricUint8(Double.NEGATIVE_INFINITY, 1), "activation range");
        assertMessage(() -> QuantParams.asymmetricUint8(0, 1).quantize(Double.NaN, 0),
                "value: NaN in channel 0; expected a number to quantize");
        QuantParams twoChannels = QuantParams.symmetricPerChannel(w, ChannelAxis.DENSE, 8);
        assertMessage(() -> FakeQuant.perChannel(Nd4j.create(new double[][] {{1, 2, 3}}), ChannelAxis.DENSE,
                twoChannels), "params: 2 channels for weights with 3 output channels");
        assertMessage(() -> FakeQuant.perTensor(w, twoChannels), "params: 2 channels; expected per-tensor");
    }

    static void assertMessage(Executable call, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected),
                () -> "message '" + e.getMessage() + "' lacks '" + expected + "'");
    }

    private static void assertHalfStep(QuantParams p, int c, double x) {
        double err = Math.abs(p.fakeQuant(x, c) - x);
        assertTrue(err <= p.scale(c) / 2 * (1 + 1e-9), () -> "channel " + c + ": |fakeQuant(" + x + ") - x| = " + err
                + " exceeds scale/2 = " + p.scale(c) / 2);
    }

    /** Dense weights {@code [nIn, nOut]} with column c drawn in [−m_c, m_c] and one entry exactly ±m_c. */
    private static INDArray denseWithChannelMagnitudes(int nIn, double[] magnitudes, long id) {
        SplittableRandom rnd = Seeds.stream(SEED, id, magnitudes.length);
        double[][] w = new double[nIn][magnitudes.length];
        for (int c = 0; c < magnitudes.length; c++) {
            for (int r = 0; r < nIn; r++) {
                w[r][c] = magnitudes[c] * (2 * rnd.nextDouble() - 1);
            }
            w[c % nIn][c] = (c % 2 == 0 ? 1 : -1) * magnitudes[c];
        }
        return Nd4j.create(w);
    }
}
