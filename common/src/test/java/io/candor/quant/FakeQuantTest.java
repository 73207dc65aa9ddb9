package io.candor.quant;

import io.candor.util.Seeds;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.SplittableRandom;

import static io.candor.quant.QuantParamsTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class FakeQuantTest {
    private static final long SEED = 2018_0621L;

    @Test
    void everyDenseWeightIsFakeQuantizedWithItsColumnsParams() {
        INDArray w = gaussian(DataType.DOUBLE, 1, 5, 4).mulRowVector(Nd4j.create(new double[] {0.01, 1, 30, 0.2}));
        QuantParams p = QuantParams.symmetricPerChannel(w, ChannelAxis.DENSE, 4);
        INDArray fq = FakeQuant.perChannel(w, ChannelAxis.DENSE, p);
        for (int r = 0; r < 5; r++) {
            for (int c = 0; c < 4; c++) {
                assertEquals(p.fakeQuant(w.getDouble(r, c), c), fq.getDouble(r, c), 0.0, "(" + r + ", " + c + ")");
            }
        }
    }

    @Test
    void everyConvWeightIsFakeQuantizedWithItsFirstIndexParams() {
        INDArray w = gaussian(DataType.FLOAT, 2, 3, 2, 3, 2);
        w.slice(1).muli(50);
        QuantParams p = QuantParams.symmetricPerChannel(w, ChannelAxis.CONV2D, 8);
        INDArray fq = FakeQuant.perChannel(w, ChannelAxis.CONV2D, p);
        assertEquals(DataType.FLOAT, fq.dataType());
        assertArrayEquals(w.shape(), fq.shape());
        for (int o = 0; o < 3; o++) {
            for (int i = 0; i < 2; i++) {
                for (int h = 0; h < 3; h++) {
                    for (int k = 0; k < 2; k++) {
                        double x = w.getDouble(o, i, h, k);
                        assertEquals((float) p.fakeQuant(x, o), fq.getFloat(o, i, h, k), 0f);
                    }
                }
            }
        }
    }

    @Test
    void fakeQuantIsIdempotentWithFixedParams() {
        INDArray w = gaussian(DataType.DOUBLE, 3, 6, 5);
        for (int bits : new int[] {8, 4, 2}) {
            QuantParams p = QuantParams.symmetricPerChannel(w, ChannelAxis.DENSE, bits);
            INDArray once = FakeQuant.perChannel(w, ChannelAxis.DENSE, p);
            assertEquals(0.0, FakeQuant.perChannel(once, ChannelAxis.DENSE, p).sub(once).amaxNumber().doubleValue(),
                    0.0, "bits " + bits);
        }
        QuantParams act = QuantParams.asymmetricUint8(-1.3, 2.9);
        INDArray x = gaussian(DataType.DOUBLE, 4, 10, 10);
        INDArray once = FakeQuant.perTensor(x, act);
        assertEquals(0.0, FakeQuant.perTensor(once, act).sub(once).amaxNumber().doubleValue(), 0.0);
    }

    @Test
    void viewsAreReadInTheirLogicalOrderAndInputsAreNotModified() {
        INDArray big = gaussian(DataType.DOUBLE, 5, 4, 6);
        INDArray view = big.get(NDArrayIndex.interval(1, 3), NDArrayIndex.interval(2, 5));
        INDArray copy = view.dup();
        INDArray before = big.dup();
        assertEquals(0.0, FakeQuant.weights(view, ChannelAxis.DENSE, 8)
                .sub(FakeQuant.weights(copy, ChannelAxis.DENSE, 8)).amaxNumber().doubleValue(), 0.0);
        assertEquals(before, big);
    }

    @Test
    void aNanActivationIsRejected() {
        INDArray x = Nd4j.create(new double[] {0.5, Double.NaN}, new long[] {2});
        assertMessage(() -> FakeQuant.perTensor(x, QuantParams.asymmetricUint8(0, 1)), "value: NaN");
    }

    private static INDArray gaussian(DataType type, long id, long... shape) {
        SplittableRandom rnd = Seeds.stream(SEED, id);
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextGaussian();
        }
        return Nd4j.create(v, shape, DataType.DOUBLE).castTo(type);
    }
}
