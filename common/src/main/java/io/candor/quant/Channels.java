package io.candor.quant;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/** Moves DL4J weight arrays to and from one row of doubles per output channel. */
final class Channels {
    private Channels() {
    }

    /** Row {@code c} holds every weight of output channel {@code c}, in C order of the remaining axes. */
    static double[][] rows(INDArray weights, ChannelAxis axis) {
        checkRank(weights, axis);
        INDArray moved = weights.permute(order(axis)).castTo(DataType.DOUBLE).dup('c');
        int channels = (int) moved.size(0);
        double[] flat = moved.data().asDouble();
        int width = flat.length / channels;
        double[][] rows = new double[channels][];
        for (int c = 0; c < channels; c++) {
            rows[c] = Arrays.copyOfRange(flat, c * width, (c + 1) * width);
        }
        return rows;
    }

    /** The inverse of {@link #rows}: an array shaped and typed like {@code like}. */
    static INDArray fromRows(double[][] rows, INDArray like, ChannelAxis axis) {
        int[] order = order(axis);
        long[] movedShape = new long[order.length];
        for (int i = 0; i < order.length; i++) {
            movedShape[i] = like.size(order[i]);
        }
        int width = rows.length == 0 ? 0 : rows[0].length;
        double[] flat = new double[rows.length * width];
        for (int c = 0; c < rows.length; c++) {
            System.arraycopy(rows[c], 0, flat, c * width, width);
        }
        INDArray moved = Nd4j.create(flat, movedShape, DataType.DOUBLE);
        return moved.permute(inverse(order)).castTo(like.dataType()).dup('c');
    }

    static void checkRank(INDArray weights, ChannelAxis axis) {
        if (weights == null || weights.rank() != axis.rank()) {
            throw new IllegalArgumentException("weights: shape " + (weights == null ? "null"
                    : Arrays.toString(weights.shape())) + " for " + axis + "; expected rank " + axis.rank()
                    + (axis == ChannelAxis.DENSE ? " [nIn, nOut]" : " [nOut, nIn, kH, kW]"));
        }
    }

    /** The channel axis first, the others in their order. */
    private static int[] order(ChannelAxis axis) {
        int[] order = new int[axis.rank()];
        order[0] = axis.axis();
        for (int d = 0, i = 1; d < order.length; d++) {
            if (d != axis.axis()) {
                order[i++] = d;
            }
        }
        return order;
    }

    private static int[] inverse(int[] order) {
        int[] inv = new int[order.length];
        for (int i = 0; i < order.length; i++) {
            inv[order[i]] = i;
        }
        return inv;
    }
}
