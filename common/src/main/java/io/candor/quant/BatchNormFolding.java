package io.candor.quant;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/**
 * Folds an inference-mode batch normalization into the dense or 2-D convolution layer before it, so that weights are
 * quantized as the integer model will use them (Jacob et al. 2018 §3.2; Krishnamoorthi 2018, on batch normalization
 * folding). With {@code f_c = γ_c / √(var_c + ε)} per output channel {@code c}:
 * <pre>
 *   W'_c = W_c · f_c        b'_c = (b_c − μ_c) · f_c + β_c
 * </pre>
 * The folded layer computes exactly what layer-then-BN computes, provided the layer's own activation is the identity
 * (a nonlinearity after BN, e.g. a DL4J {@code ActivationLayer}, stays where it is). DL4J's {@code BatchNormalization}
 * applies no activation function at inference, a configured one included, so the folded layer keeps the identity.
 * The math runs in double; results have the inputs' shapes and data types. Inputs are not modified.
 */
public final class BatchNormFolding {
    private BatchNormFolding() {
    }

    /** Folded weights and bias, shaped like the originals. */
    public record Folded(INDArray weights, INDArray bias) {
    }

    /**
     * @param weights the layer's weights, {@code [nIn, nOut]} for {@link ChannelAxis#DENSE}, {@code [nOut, nIn, kH,
     *     kW]} for {@link ChannelAxis#CONV2D}
     * @param bias the layer's bias with {@code nOut} values (DL4J stores {@code [1, nOut]}), or null for a layer
     *     without bias (taken as 0; the folded layer needs one, shaped {@code [1, nOut]})
     * @throws IllegalArgumentException if the rank does not match {@code axis}, or the bias or statistics do not have
     *     one value per output channel
     */
    public static Folded fold(INDArray weights, INDArray bias, ChannelAxis axis, BatchNormStats bn) {
        double[][] rows = Channels.rows(weights, axis);
        int nOut = rows.length;
        if (bn.channels() != nOut) {
            throw new IllegalArgumentException("batch norm: " + bn.channels() + " channels after a layer with "
                    + nOut + " output channels (weights " + Arrays.toString(weights.shape())
                    + "); expected one statistic per output channel");
        }
        if (bias != null && bias.length() != nOut) {
            throw new IllegalArgumentException("bias: shape " + Arrays.toString(bias.shape()) + "; expected " + nOut
                    + " values, one per output channel");
        }
        double[] b = bias == null ? new double[nOut] : bias.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] f = bn.factors();
        double[] mean = bn.mean();
        double[] beta = bn.beta();
        double[] foldedBias = new double[nOut];
        for (int c = 0; c < nOut; c++) {
            for (int i = 0; i < rows[c].length; i++) {
                rows[c][i] *= f[c];
            }
            foldedBias[c] = (b[c] - mean[c]) * f[c] + beta[c];
        }
        long[] biasShape = bias == null ? new long[] {1, nOut} : bias.shape();
        DataType biasType = bias == null ? weights.dataType() : bias.dataType();
        return new Folded(Channels.fromRows(rows, weights, axis),
                Nd4j.create(foldedBias, biasShape, DataType.DOUBLE).castTo(biasType));
    }
}
