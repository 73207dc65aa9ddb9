package io.candor.quant.intmodel;

/**
 * A fully connected layer: {@code acc_o = bias_o + Σ_i (x_i − zx) · w_oi} in int32, then either requantized to
 * {@code output} (hidden layers; {@code activation} fused into the clamp) or, for the last layer ({@code output ==
 * null}), dequantized with {@code input.scale · weightScales[o]} to float logits.
 *
 * @param bits weight bit width, 2..8; every weight lies in {@code [−(2^(bits−1) − 1), 2^(bits−1) − 1]}
 * @param weights {@code [nOut][nIn]} row-major, output channel first
 * @param weightScales symmetric per-output-channel weight scales (zero point 0)
 * @param bias int32, at scale {@code input.scale · weightScales[o]}
 */
public record IntDense(int nIn, int nOut, int bits, byte[] weights, float[] weightScales, int[] bias,
                       ActivationQuant input, ActivationQuant output, HiddenActivation activation) implements IntLayer {
    @Override
    public int inputSize() {
        return nIn;
    }

    @Override
    public int outputSize() {
        return nOut;
    }
}
