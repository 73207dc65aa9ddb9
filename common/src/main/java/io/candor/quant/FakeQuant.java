package io.candor.quant;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fake quantization of whole arrays, the forward pass of quantization-aware training: every value is quantized and
 * dequantized with {@link QuantParams#fakeQuant}, so training sees the rounding and clipping the integer model will
 * apply (Jacob et al. 2018 §3; Krishnamoorthi 2018, on quantization-aware training). The math runs in double; the
 * result has the input's shape and data type. The backward pass is {@link StraightThroughEstimator}.
 */
public final class FakeQuant {
    private FakeQuant() {
    }

    /** Weights fake-quantized per output channel with {@code params} (one channel per output channel). */
    public static INDArray perChannel(INDArray weights, ChannelAxis axis, QuantParams params) {
        double[][] rows = Channels.rows(weights, axis);
        if (rows.length != params.channels()) {
            throw new IllegalArgumentException("params: " + params.channels() + " channels for weights with "
                    + rows.length + " output channels; expected one (scale, zero point) per output channel");
        }
        for (int c = 0; c < rows.length; c++) {
            for (int i = 0; i < rows[c].length; i++) {
                rows[c][i] = params.fakeQuant(rows[c][i], c);
            }
        }
        return Channels.fromRows(rows, weights, axis);
    }

    /** Weights fake-quantized with their own symmetric per-channel parameters at {@code bits}. */
    public static INDArray weights(INDArray weights, ChannelAxis axis, int bits) {
        return perChannel(weights, axis, QuantParams.symmetricPerChannel(weights, axis, bits));
    }

    /** Any array fake-quantized with per-tensor {@code params} (a single channel), e.g. activations. */
    public static INDArray perTensor(INDArray values, QuantParams params) {
        if (params.channels() != 1) {
            throw new IllegalArgumentException("params: " + params.channels()
                    + " channels; expected per-tensor params with 1 channel");
        }
        double[] flat = values.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        for (int i = 0; i < flat.length; i++) {
            flat[i] = params.fakeQuant(flat[i], 0);
        }
        return Nd4j.create(flat, values.shape(), DataType.DOUBLE).castTo(values.dataType());
    }
}
