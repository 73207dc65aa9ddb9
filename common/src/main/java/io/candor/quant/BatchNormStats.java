package io.candor.quant;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

/**
 * The inference-time parameters of a batch normalization layer, one value per channel:
 * {@code y_c = γ_c · (x_c − μ_c) / √(var_c + ε) + β_c} with the running mean {@code μ} and variance {@code var}
 * (Ioffe &amp; Szegedy 2015). Immutable; arrays are copied in and out.
 *
 * @param gamma the scale γ
 * @param beta the shift β
 * @param mean the running mean μ
 * @param variance the running variance (not yet plus ε)
 * @param eps the ε added to the variance
 */
public record BatchNormStats(double[] gamma, double[] beta, double[] mean, double[] variance, double eps) {
    /**
     * @throws IllegalArgumentException if the arrays are missing, differ in length, hold a non-finite value, or
     *     {@code var_c + ε} is not positive
     */
    public BatchNormStats {
        int n = gamma == null ? -1 : gamma.length;
        check("beta", beta, n);
        check("mean", mean, n);
        check("variance", variance, n);
        check("gamma", gamma, n);
        if (!(eps >= 0) || !Double.isFinite(eps)) {
            throw new IllegalArgumentException("eps: " + eps + "; expected a finite value >= 0");
        }
        for (int c = 0; c < n; c++) {
            if (!(variance[c] + eps > 0)) {
                throw new IllegalArgumentException("variance: channel " + c + " has variance " + variance[c]
                        + " and eps " + eps + "; expected variance + eps > 0");
            }
        }
        gamma = gamma.clone();
        beta = beta.clone();
        mean = mean.clone();
        variance = variance.clone();
    }

    /**
     * The statistics of a DL4J {@code BatchNormalization} layer, whichever way it stores them: a locked γ and β come
     * from the configuration; with {@code useLogStd} (DL4J's default) the stored {@code log10stdev} parameter
     * {@code s} means {@code var = 10^(2s)}, to which DL4J still adds ε at inference.
     *
     * @throws IllegalArgumentException if {@code layer} is not a batch normalization layer
     */
    public static BatchNormStats of(Layer layer) {
        if (layer == null || !(layer.conf().getLayer() instanceof BatchNormalization conf)) {
            throw new IllegalArgumentException("layer: " + (layer == null ? "null" : layer.conf().getLayer()
                    .getClass().getSimpleName()) + "; expected a BatchNormalization layer");
        }
        double[] mean = vector(layer.getParam(BatchNormalizationParamInitializer.GLOBAL_MEAN));
        double[] variance;
        if (conf.isUseLogStd()) {
            double[] log10Std = vector(layer.getParam(BatchNormalizationParamInitializer.GLOBAL_LOG_STD));
            variance = Arrays.stream(log10Std).map(s -> Math.pow(10, 2 * s)).toArray();
        } else {
            variance = vector(layer.getParam(BatchNormalizationParamInitializer.GLOBAL_VAR));
        }
        double[] gamma;
        double[] beta;
        if (conf.isLockGammaBeta()) {
            gamma = filled(mean.length, conf.getGamma());
            beta = filled(mean.length, conf.getBeta());
        } else {
            gamma = vector(layer.getParam(BatchNormalizationParamInitializer.GAMMA));
            beta = vector(layer.getParam(BatchNormalizationParamInitializer.BETA));
        }
        return new BatchNormStats(gamma, beta, mean, variance, conf.getEps());
    }

    /** Number of channels. */
    public int channels() {
        return gamma.length;
    }

    /** The per-channel factor {@code γ_c / √(var_c + ε)} that folding multiplies weights by. */
    public double[] factors() {
        double[] f = new double[gamma.length];
        for (int c = 0; c < f.length; c++) {
            f[c] = gamma[c] / Math.sqrt(variance[c] + eps);
        }
        return f;
    }

    @Override
    public double[] gamma() {
        return gamma.clone();
    }

    @Override
    public double[] beta() {
        return beta.clone();
    }

    @Override
    public double[] mean() {
        return mean.clone();
    }

    @Override
    public double[] variance() {
        return variance.clone();
    }

    private static void check(String name, double[] values, int n) {
        if (values == null || values.length == 0 || (n >= 0 && values.length != n)) {
            throw new IllegalArgumentException(name + ": " + (values == null ? "null" : values.length + " values")
                    + "; expected one value per channel, as many as gamma (" + n + ")");
        }
        for (int c = 0; c < values.length; c++) {
            if (!Double.isFinite(values[c])) {
                throw new IllegalArgumentException(name + ": channel " + c + " is " + values[c]
                        + "; expected a finite value");
            }
        }
    }

    private static double[] vector(INDArray a) {
        return a.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    }

    private static double[] filled(int n, double value) {
        double[] a = new double[n];
        Arrays.fill(a, value);
        return a;
    }
}
