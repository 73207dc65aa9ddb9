package io.candor.quant;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/**
 * The backward pass of fake quantization: the straight-through estimator treats rounding as the identity and keeps
 * the clipping, so {@code ∂fakeQuant(x)/∂x} is 1 for {@code x} in the clipping range and 0 outside (Bengio, Léonard,
 * Courville 2013; Jacob et al. 2018 §3; Krishnamoorthi 2018).
 *
 * <p>The range is closed: a value exactly at {@code min} or {@code max} is inside and passes its gradient. With the
 * range ends of {@link QuantParams#rangeMin}/{@link QuantParams#rangeMax} a bound is exactly representable, so
 * fake-quant is the identity there and a weight or activation sitting on the bound keeps learning. (PyTorch compares
 * the rounded integer instead, which also passes values up to half a step beyond the bounds; here the mask is exactly
 * the real clipping range.) NaN is outside. The gradient is selected, never multiplied, so an outside gradient of any
 * value, NaN or infinity included, becomes exactly 0.
 */
public final class StraightThroughEstimator {
    private StraightThroughEstimator() {
    }

    /** 1 where {@code min <= x <= max}, else 0; shaped and typed like {@code x}. */
    public static INDArray mask(INDArray x, double min, double max) {
        checkRange(min, max);
        double[] v = values(x);
        for (int i = 0; i < v.length; i++) {
            v[i] = inside(v[i], min, max) ? 1.0 : 0.0;
        }
        return Nd4j.create(v, x.shape(), DataType.DOUBLE).castTo(x.dataType());
    }

    /**
     * The gradient with respect to the pre-quantization input {@code x}: {@code upstream} where
     * {@code min <= x <= max}, exactly 0 elsewhere; shaped and typed like {@code upstream}.
     *
     * @throws IllegalArgumentException if the shapes differ or the range is not finite {@code min <= max}
     */
    public static INDArray backward(INDArray upstream, INDArray x, double min, double max) {
        checkRange(min, max);
        if (!Arrays.equals(upstream.shape(), x.shape())) {
            throw new IllegalArgumentException("upstream: shape " + Arrays.toString(upstream.shape())
                    + "; expected the input's shape " + Arrays.toString(x.shape()));
        }
        double[] g = values(upstream);
        double[] v = values(x);
        for (int i = 0; i < g.length; i++) {
            if (!inside(v[i], min, max)) {
                g[i] = 0.0;
            }
        }
        return Nd4j.create(g, upstream.shape(), DataType.DOUBLE).castTo(upstream.dataType());
    }

    private static boolean inside(double x, double min, double max) {
        return x >= min && x <= max;
    }

    private static double[] values(INDArray a) {
        return a.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    }

    private static void checkRange(double min, double max) {
        if (!Double.isFinite(min) || !Double.isFinite(max) || min > max) {
            throw new IllegalArgumentException("clipping range: [" + min + ", " + max
                    + "] is not a range; expected finite min <= max");
        }
    }
}
