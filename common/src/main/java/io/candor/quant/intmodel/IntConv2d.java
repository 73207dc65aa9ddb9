package io.candor.quant.intmodel;

/**
 * A 2-D convolution over NCHW input (dilation 1, no groups), integer arithmetic as {@link IntDense}. Padding is
 * explicit and pads with the input zero point (real 0).
 *
 * @param weights {@code [outChannels][inChannels][kernelH][kernelW]} row-major
 * @param weightScales one per output channel
 * @param bias int32 at scale {@code input.scale · weightScales[o]}
 * @param output the requantization of the output; {@code null} only if this is the model's last layer
 */
public record IntConv2d(int inChannels, int inHeight, int inWidth, int outChannels, int outHeight, int outWidth,
                        int kernelH, int kernelW, int strideH, int strideW,
                        int padTop, int padLeft, int padBottom, int padRight,
                        int bits, byte[] weights, float[] weightScales, int[] bias,
                        ActivationQuant input, ActivationQuant output, HiddenActivation activation) implements IntLayer {
    @Override
    public int inputSize() {
        return inChannels * inHeight * inWidth;
    }

    @Override
    public int outputSize() {
        return outChannels * outHeight * outWidth;
    }
}
