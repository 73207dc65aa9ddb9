package io.candor.quant.intmodel;

/**
 * Per-tensor asymmetric unsigned 8-bit quantization of an activation tensor: {@code real = scale · (q − zeroPoint)},
 * {@code q} in [0, 255]. The scale is float32 because ONNX {@code QuantizeLinear} takes a float32 scale; the
 * fake-quant simulation uses the same float32 value, so both sides round identically.
 */
public record ActivationQuant(float scale, int zeroPoint) {
    public ActivationQuant {
        if (!(scale > 0) || !Float.isFinite(scale) || zeroPoint < 0 || zeroPoint > 255) {
            throw new IllegalArgumentException("activation quantization: scale " + scale + ", zero point " + zeroPoint
                    + "; expected a finite scale > 0 and a zero point in [0, 255]");
        }
    }

    /** {@code clamp(rint(x / scale) + zeroPoint, 0, 255)}, computed as float32 division like QuantizeLinear. */
    public int quantize(double x) {
        double q = Math.rint((float) x / scale) + zeroPoint;
        return (int) Math.max(0, Math.min(255, q));
    }

    public double dequantize(int q) {
        return (double) scale * (q - zeroPoint);
    }
}
