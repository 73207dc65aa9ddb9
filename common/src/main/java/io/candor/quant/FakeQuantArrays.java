package io.candor.quant;

import io.candor.quant.intmodel.ActivationQuant;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Vectorised fake quantization in the network's own data type, the arithmetic the DL4J fake-quant twin runs on every
 * forward pass. It is {@link QuantParams}'s math with float32 scales (the scales the integer artifact and ONNX store),
 * so the twin, the integer model and the ONNX export round the same values the same way: divide by the float scale,
 * round half to even ({@link Rint}), add the zero point, clamp, and map back.
 */
public final class FakeQuantArrays {
    private FakeQuantArrays() {
    }

    /**
     * Per-output-channel float32 weight scales, {@code max|w_c| / qmax} floored at {@link QuantParams#MIN_SCALE}: the
     * arithmetic of {@link QuantParams#symmetricPerChannel}, with the channel maxima taken by one vectorised reduction,
     * because the twin needs them on every forward pass.
     *
     * @throws IllegalArgumentException if a weight is not finite (from {@link QuantParams})
     */
    public static float[] weightScales(INDArray weights, ChannelAxis axis, int bits) {
        int qmax = QuantParams.symmetricQmax(bits);
        INDArray rows = channelRows(weights, axis);
        if (!Double.isFinite(rows.sumNumber().doubleValue())) {
            // amax may drop a NaN; the scalar path rejects it, naming the channel.
            QuantParams.symmetricPerChannel(weights, axis, bits);
        }
        double[] maxAbs = rows.amax(axis == ChannelAxis.DENSE ? 0 : 1).castTo(DataType.DOUBLE).data().asDouble();
        float[] out = new float[maxAbs.length];
        for (int c = 0; c < maxAbs.length; c++) {
            out[c] = (float) Math.max(maxAbs[c] / qmax, QuantParams.MIN_SCALE);
        }
        return out;
    }

    /** The integer weights {@code clamp(rint(w / scale_c), −qmax, qmax)} in the weights' shape and data type. */
    public static INDArray weightIntegers(INDArray weights, ChannelAxis axis, int bits, float[] scales) {
        int qmax = QuantParams.symmetricQmax(bits);
        INDArray channelRows = channelRows(weights, axis);
        INDArray scale = Nd4j.create(scales, new long[] {scales.length}).castTo(weights.dataType());
        INDArray q = axis == ChannelAxis.DENSE ? channelRows.divRowVector(scale) : channelRows.divColumnVector(scale);
        Nd4j.exec(new Rint(q, q));
        q = Transforms.min(Transforms.max(q, -qmax, false), qmax, false);
        return q.reshape('c', weights.shape());
    }

    /** Weights fake-quantized per output channel with their own symmetric scales at {@code bits}. */
    public static INDArray weights(INDArray weights, ChannelAxis axis, int bits) {
        float[] scales = weightScales(weights, axis, bits);
        INDArray q = channelRows(weightIntegers(weights, axis, bits, scales), axis);
        INDArray scale = Nd4j.create(scales, new long[] {scales.length}).castTo(weights.dataType());
        INDArray real = axis == ChannelAxis.DENSE ? q.mulRowVector(scale) : q.mulColumnVector(scale);
        return real.reshape('c', weights.shape());
    }

    /** The float32 scale of a bias feeding channel {@code c}: input scale × weight scale, as int32 biases use. */
    public static float biasScale(float inputScale, float weightScale) {
        return inputScale * weightScale;
    }

    /** Bias {@code [1, nOut]} rounded to the int32 grid of {@link #biasScale}; no clipping (int32 is ample). */
    public static INDArray bias(INDArray bias, float inputScale, float[] weightScales) {
        float[] scales = new float[weightScales.length];
        for (int c = 0; c < scales.length; c++) {
            scales[c] = biasScale(inputScale, weightScales[c]);
        }
        INDArray scale = Nd4j.create(scales, new long[] {scales.length}).castTo(bias.dataType());
        INDArray q = bias.reshape(1, scales.length).divRowVector(scale);
        Nd4j.exec(new Rint(q, q));
        return q.mulRowVector(scale).reshape(bias.shape());
    }

    /** Activations fake-quantized per tensor with {@code quant} (a new array). */
    public static INDArray activations(INDArray x, ActivationQuant quant) {
        INDArray q = x.div(quant.scale());
        Nd4j.exec(new Rint(q, q));
        q.addi(quant.zeroPoint());
        q = Transforms.min(Transforms.max(q, 0, false), 255, false);
        return q.subi(quant.zeroPoint()).muli(quant.scale());
    }

    /** 1 where {@code x} lies inside the representable range of {@code quant} (closed), else 0: the STE mask. */
    public static INDArray insideRange(INDArray x, ActivationQuant quant) {
        double lo = quant.dequantize(0);
        double hi = quant.dequantize(255);
        return x.gte(lo).castTo(x.dataType()).muli(x.lte(hi).castTo(x.dataType()));
    }

    private static INDArray channelRows(INDArray weights, ChannelAxis axis) {
        if (weights.rank() != axis.rank()) {
            throw new IllegalArgumentException("weights: rank " + weights.rank() + "; expected " + axis.rank()
                    + " for " + axis);
        }
        return axis == ChannelAxis.DENSE ? weights.dup('c') : weights.dup('c').reshape('c', weights.size(0), -1);
    }
}
