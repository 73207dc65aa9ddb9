package io.candor.quant.intmodel;

/**
 * One layer of an {@link IntegerModel}. Between layers every row is a flat uint8 vector; image tensors are flattened
 * channel-major (C, H, W), the order of DL4J's CNN-to-feed-forward preprocessor and of ONNX {@code Flatten} on NCHW.
 */
public sealed interface IntLayer permits IntDense, IntConv2d, IntMaxPool2d {
    /** Values per row this layer reads. */
    int inputSize();

    /** Values per row this layer writes. */
    int outputSize();
}
