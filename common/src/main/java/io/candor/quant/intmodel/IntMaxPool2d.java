package io.candor.quant.intmodel;

/**
 * Max pooling over NCHW uint8 values. Max commutes with a monotone quantization, so input and output share one
 * {@link ActivationQuant} and no requantization happens. Padded positions never win (they count as −∞).
 */
public record IntMaxPool2d(int channels, int inHeight, int inWidth, int outHeight, int outWidth,
                           int kernelH, int kernelW, int strideH, int strideW,
                           int padTop, int padLeft, int padBottom, int padRight) implements IntLayer {
    @Override
    public int inputSize() {
        return channels * inHeight * inWidth;
    }

    @Override
    public int outputSize() {
        return channels * outHeight * outWidth;
    }
}
