package io.candor.quant.intmodel;

import io.candor.quant.QuantParams;
import io.candor.util.Seeds;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded random {@link IntegerModel}s for tests: Gaussian float weights quantized per channel, and every hidden
 * layer's output quantization calibrated on a batch of random rows, so activations use their uint8 range the way a
 * calibrated model's do.
 */
final class RandomIntegerModels {
    static final float FEATURE_RANGE = 3f;
    private static final int CALIBRATION_ROWS = 256;

    private final SplittableRandom random;
    private final int bits;
    private final int inputs;
    private final ActivationQuant input;
    private final float[] calibration;
    private final List<IntLayer> layers = new ArrayList<>();
    private ActivationQuant current;
    private int size;
    private int[] shape;

    RandomIntegerModels(long seed, int bits, int... inputShape) {
        this.random = Seeds.stream(seed, bits);
        this.bits = bits;
        this.shape = inputShape.clone();
        int n = 1;
        for (int d : inputShape) {
            n *= d;
        }
        this.inputs = n;
        this.size = n;
        QuantParams q = QuantParams.asymmetricUint8(-FEATURE_RANGE, FEATURE_RANGE);
        this.input = new ActivationQuant((float) q.scale(0), q.zeroPoint(0));
        this.current = input;
        this.calibration = features(random, CALIBRATION_ROWS, inputs);
    }

    /** Gaussian features, most of them inside ±{@link #FEATURE_RANGE}. */
    static float[] features(SplittableRandom random, int rows, int cols) {
        float[] x = new float[rows * cols];
        for (int k = 0; k < x.length; k++) {
            x[k] = (float) (gaussian(random) * FEATURE_RANGE / 2.5);
        }
        return x;
    }

    RandomIntegerModels dense(int nOut, HiddenActivation activation) {
        return add(denseLayer(nOut, current, null, HiddenActivation.IDENTITY), activation);
    }

    RandomIntegerModels conv(int outC, int k, int stride, int padBefore, int padAfter, HiddenActivation activation) {
        return add(convLayer(outC, k, stride, padBefore, padAfter, current, null, HiddenActivation.IDENTITY), activation);
    }

    RandomIntegerModels maxPool(int k, int stride, int padBefore, int padAfter) {
        int c = shape[0];
        int outH = (shape[1] + padBefore + padAfter - k) / stride + 1;
        int outW = (shape[2] + padBefore + padAfter - k) / stride + 1;
        layers.add(new IntMaxPool2d(c, shape[1], shape[2], outH, outW, k, k, stride, stride,
                padBefore, padBefore, padAfter, padAfter));
        shape = new int[] {c, outH, outW};
        size = c * outH * outW;
        return this;
    }

    /** The model with a last dense layer of {@code classes} outputs. */
    IntegerModel denseOutput(int classes, OutputActivation activation) {
        List<IntLayer> all = new ArrayList<>(layers);
        all.add(denseLayer(classes, current, null, HiddenActivation.IDENTITY));
        return new IntegerModel(inputs, input, all, activation, classes);
    }

    /** The model with a last conv layer. */
    IntegerModel convOutput(int outC, int k, OutputActivation activation) {
        List<IntLayer> all = new ArrayList<>(layers);
        IntConv2d c = convLayer(outC, k, 1, 0, 0, current, null, HiddenActivation.IDENTITY);
        all.add(c);
        return new IntegerModel(inputs, input, all, activation, c.outputSize());
    }

    /**
     * Adds a hidden layer: first as a provisional last layer to read its real outputs on the calibration rows, then
     * with the output quantization of their (activated) range.
     */
    private RandomIntegerModels add(IntLayer provisional, HiddenActivation activation) {
        List<IntLayer> probe = new ArrayList<>(layers);
        probe.add(provisional);
        int n = provisional.outputSize();
        double[][] real = IntegerInference.logits(new IntegerModel(inputs, input, probe, OutputActivation.IDENTITY, n),
                calibration, CALIBRATION_ROWS);
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (double[] row : real) {
            for (double v : row) {
                double a = activation == HiddenActivation.RELU ? Math.max(0, v) : v;
                lo = Math.min(lo, a);
                hi = Math.max(hi, a);
            }
        }
        QuantParams q = QuantParams.asymmetricUint8(lo, hi);
        ActivationQuant out = new ActivationQuant((float) q.scale(0), q.zeroPoint(0));
        IntLayer layer = provisional instanceof IntDense d
                ? new IntDense(d.nIn(), d.nOut(), d.bits(), d.weights(), d.weightScales(), d.bias(), d.input(), out,
                        activation)
                : withOutput((IntConv2d) provisional, out, activation);
        layers.add(layer);
        current = out;
        size = n;
        return this;
    }

    private static IntConv2d withOutput(IntConv2d c, ActivationQuant out, HiddenActivation activation) {
        return new IntConv2d(c.inChannels(), c.inHeight(), c.inWidth(), c.outChannels(), c.outHeight(), c.outWidth(),
                c.kernelH(), c.kernelW(), c.strideH(), c.strideW(), c.padTop(), c.padLeft(), c.padBottom(),
                c.padRight(), c.bits(), c.weights(), c.weightScales(), c.bias(), c.input(), out, activation);
    }

    private IntDense denseLayer(int nOut, ActivationQuant in, ActivationQuant out, HiddenActivation activation) {
        Quantized q = quantizedWeights(nOut, size, in);
        shape = new int[] {nOut};
        return new IntDense(size, nOut, bits, q.weights, q.scales, q.bias, in, out, activation);
    }

    private IntConv2d convLayer(int outC, int k, int stride, int padBefore, int padAfter, ActivationQuant in,
                                ActivationQuant out, HiddenActivation activation) {
        int inC = shape[0];
        int outH = (shape[1] + padBefore + padAfter - k) / stride + 1;
        int outW = (shape[2] + padBefore + padAfter - k) / stride + 1;
        Quantized q = quantizedWeights(outC, inC * k * k, in);
        IntConv2d c = new IntConv2d(inC, shape[1], shape[2], outC, outH, outW, k, k, stride, stride,
                padBefore, padBefore, padAfter, padAfter, bits, q.weights, q.scales, q.bias, in, out, activation);
        shape = new int[] {outC, outH, outW};
        return c;
    }

    private record Quantized(byte[] weights, float[] scales, int[] bias) {
    }

    /** He-scaled Gaussian weights, symmetric per-channel quantization, a small real bias at the accumulator scale. */
    private Quantized quantizedWeights(int channels, int fanIn, ActivationQuant in) {
        int qmax = QuantParams.symmetricQmax(bits);
        byte[] w = new byte[channels * fanIn];
        float[] scales = new float[channels];
        int[] bias = new int[channels];
        double std = Math.sqrt(2.0 / fanIn);
        for (int o = 0; o < channels; o++) {
            double[] real = new double[fanIn];
            double maxAbs = 0;
            for (int i = 0; i < fanIn; i++) {
                real[i] = gaussian(random) * std;
                maxAbs = Math.max(maxAbs, Math.abs(real[i]));
            }
            scales[o] = (float) (maxAbs / qmax);
            for (int i = 0; i < fanIn; i++) {
                w[o * fanIn + i] = (byte) Math.max(-qmax, Math.min(qmax, Math.rint(real[i] / scales[o])));
            }
            bias[o] = (int) Math.rint(gaussian(random) * 0.1 / ((double) in.scale() * scales[o]));
        }
        return new Quantized(w, scales, bias);
    }

    static double gaussian(SplittableRandom random) {
        double u = random.nextDouble();
        double v = random.nextDouble();
        return Math.sqrt(-2 * Math.log1p(-u)) * Math.cos(2 * Math.PI * v);
    }
}
