package io.candor.quant;

/**
 * Which axis of a DL4J weight array indexes the layer's output channels, the axis that per-channel quantization and
 * batch-norm folding work along.
 */
public enum ChannelAxis {
    /** DL4J {@code DenseLayer}/{@code OutputLayer} weights {@code [nIn, nOut]}: one output channel per column. */
    DENSE(1, 2),
    /** DL4J {@code ConvolutionLayer} weights {@code [nOut, nIn, kH, kW]}: one output channel per first index. */
    CONV2D(0, 4);

    private final int axis;
    private final int rank;

    ChannelAxis(int axis, int rank) {
        this.axis = axis;
        this.rank = rank;
    }

    /** The index of the output-channel dimension. */
    public int axis() {
        return axis;
    }

    /** The rank weights of this kind have. */
    public int rank() {
        return rank;
    }
}
