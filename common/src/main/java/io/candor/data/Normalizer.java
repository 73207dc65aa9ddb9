package io.candor.data;

import java.io.Serializable;

/**
 * Standardisation of the model input, fitted on the training split with Spark's {@code Summarizer}: x' = (x − mean)
 * / std per position (std 1 where a column is constant or one-hot), and for regression the label likewise, so that
 * networks train on unit-scale targets and predictions are mapped back.
 */
public record Normalizer(double[] mean, double[] std, double labelMean, double labelStd) implements Serializable {

    public static Normalizer identity(int size) {
        double[] zeros = new double[size];
        double[] ones = new double[size];
        java.util.Arrays.fill(ones, 1.0);
        return new Normalizer(zeros, ones, 0.0, 1.0);
    }

    /** Writes the normalised {@code x} into {@code out} starting at {@code offset}. */
    public void apply(double[] x, float[] out, int offset) {
        for (int j = 0; j < x.length; j++) {
            out[offset + j] = (float) ((x[j] - mean[j]) / std[j]);
        }
    }

    public double[] apply(double[] x) {
        double[] out = new double[x.length];
        for (int j = 0; j < x.length; j++) {
            out[j] = (x[j] - mean[j]) / std[j];
        }
        return out;
    }

    public double normalizeLabel(double y) {
        return (y - labelMean) / labelStd;
    }

    public double denormalizeLabel(double y) {
        return y * labelStd + labelMean;
    }
}
