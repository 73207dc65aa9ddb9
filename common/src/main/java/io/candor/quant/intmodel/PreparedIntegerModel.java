package io.candor.quant.intmodel;

import java.util.Arrays;
import java.util.List;

/**
 * An {@link IntegerModel} checked and made ready for batch inference: weights widened to int, every hidden layer's
 * per-channel requantization multiplier {@code M_o = input.scale · weightScales[o] / output.scale} turned into a
 * {@link FixedPointMultiplier} once, the last layer's dequantization scales {@code input.scale · weightScales[o]}
 * computed once. Inference then runs the whole batch layer by layer in int32 loops; the only floating point is
 * quantizing the features and dequantizing the last layer's accumulators.
 *
 * <p>{@link #of} checks, and rejects with an {@link IllegalArgumentException} naming the layer index and what was
 * expected: at least one layer; sizes chain ({@code layers[0].inputSize() == inputs},
 * {@code layers[i].outputSize() == layers[i+1].inputSize()}, last {@code outputSize() == outputs}); convolution and
 * pooling output shapes follow {@code (in + padBefore + padAfter − k) / stride + 1}; pooling pads are smaller than
 * the kernel (no window is all padding); array lengths match the shapes; bits in 2..8 and every weight within
 * {@code ±(2^(bits−1) − 1)}; weight scales finite and positive; each layer's input quantization equals the one the
 * previous layer writes (the model's input quantization for the first); hidden dense and conv layers have an output
 * quantization and an activation, the last layer is dense or conv with none and an activation of {@code IDENTITY} or
 * {@code null} (its nonlinearity is the model's {@link OutputActivation}); and the worst-case accumulator
 * {@code |bias_o| + 255 · Σ_i |w_oi|} fits in int32, so the int32 sums are exact.
 *
 * <p>Immutable and thread-safe.
 */
public final class PreparedIntegerModel {
    private static final int UINT8_MAX = 255;

    private final IntegerModel model;
    private final Stage[] hidden;
    private final Stage last;

    private PreparedIntegerModel(IntegerModel model, Stage[] hidden, Stage last) {
        this.model = model;
        this.hidden = hidden;
        this.last = last;
    }

    /**
     * Validates {@code model} and precomputes its multipliers.
     *
     * @throws IllegalArgumentException naming the layer and what was expected, if the model is inconsistent
     */
    public static PreparedIntegerModel of(IntegerModel model) {
        if (model == null) {
            throw new IllegalArgumentException("model: null; expected an IntegerModel");
        }
        if (model.input() == null || model.outputActivation() == null) {
            throw new IllegalArgumentException("model: input quantization " + model.input() + ", output activation "
                    + model.outputActivation() + "; expected both non-null");
        }
        List<IntLayer> layers = model.layers();
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("model: no layers; expected at least one dense or conv layer");
        }
        if (model.inputs() < 1) {
            throw new IllegalArgumentException("model: inputs " + model.inputs() + "; expected at least 1");
        }
        Stage[] hidden = new Stage[layers.size() - 1];
        Stage last = null;
        long size = model.inputs();
        ActivationQuant quant = model.input();
        for (int i = 0; i < layers.size(); i++) {
            IntLayer layer = layers.get(i);
            boolean isLast = i == layers.size() - 1;
            Check check = new Check(i, layer);
            String from = i == 0 ? "the model's inputs" : "the outputSize of layer " + (i - 1);
            Stage stage;
            if (layer instanceof IntDense d) {
                check.positive("nIn", d.nIn());
                check.positive("nOut", d.nOut());
                check.chains(d.nIn(), size, from);
                check.inputQuant(d.input(), quant);
                check.weights(d.bits(), d.weights(), (long) d.nOut() * d.nIn(), "nOut · nIn",
                        d.weightScales(), d.bias(), d.nOut());
                check.outputQuant(d.output(), d.activation(), isLast);
                stage = new DenseStage(d, quant);
                size = d.nOut();
            } else if (layer instanceof IntConv2d c) {
                check.positive("inChannels", c.inChannels());
                check.positive("outChannels", c.outChannels());
                check.window(c.inHeight(), c.inWidth(), c.outHeight(), c.outWidth(), c.kernelH(), c.kernelW(),
                        c.strideH(), c.strideW(), c.padTop(), c.padLeft(), c.padBottom(), c.padRight(), false);
                check.chains(check.size(c.inChannels(), c.inHeight(), c.inWidth()), size, from);
                check.size(c.outChannels(), c.outHeight(), c.outWidth());
                check.inputQuant(c.input(), quant);
                check.weights(c.bits(), c.weights(), (long) c.outChannels() * c.inChannels() * c.kernelH() * c.kernelW(),
                        "outChannels · inChannels · kernelH · kernelW", c.weightScales(), c.bias(), c.outChannels());
                check.outputQuant(c.output(), c.activation(), isLast);
                stage = new ConvStage(c, quant);
                size = (long) c.outChannels() * c.outHeight() * c.outWidth();
            } else {
                IntMaxPool2d p = (IntMaxPool2d) layer;
                check.positive("channels", p.channels());
                check.window(p.inHeight(), p.inWidth(), p.outHeight(), p.outWidth(), p.kernelH(), p.kernelW(),
                        p.strideH(), p.strideW(), p.padTop(), p.padLeft(), p.padBottom(), p.padRight(), true);
                check.chains(check.size(p.channels(), p.inHeight(), p.inWidth()), size, from);
                check.size(p.channels(), p.outHeight(), p.outWidth());
                if (isLast) {
                    throw check.fail("is the last layer; expected the last layer to be IntDense or IntConv2d, whose "
                            + "accumulators give the logits");
                }
                stage = new PoolStage(p);
                size = (long) p.channels() * p.outHeight() * p.outWidth();
            }
            if (isLast) {
                last = stage;
            } else {
                hidden[i] = stage;
                quant = stage.outputQuant(quant);
            }
        }
        if (size != model.outputs()) {
            throw new IllegalArgumentException("model: outputs " + model.outputs() + "; expected " + size
                    + ", the outputSize of the last layer (" + (layers.size() - 1) + ")");
        }
        return new PreparedIntegerModel(model, hidden, last);
    }

    /** The model this was prepared from. */
    public IntegerModel model() {
        return model;
    }

    /** See {@link IntegerInference#logits}. */
    public double[][] logits(float[] features, int rows) {
        int[] q = quantizeInput(features, rows);
        for (Stage s : hidden) {
            q = s.forward(q, rows);
        }
        return toRows(last.logits(q, rows), rows, model.outputs());
    }

    /** The uint8 codes after the first {@code count} hidden layers, row-major; for tests of single layers. */
    int[] hiddenCodes(float[] features, int rows, int count) {
        int[] q = quantizeInput(features, rows);
        for (int l = 0; l < count; l++) {
            q = hidden[l].forward(q, rows);
        }
        return q;
    }

    /** See {@link IntegerInference#outputs}. */
    public double[][] outputs(float[] features, int rows) {
        double[][] out = logits(features, rows);
        for (double[] row : out) {
            applyOutputActivation(model.outputActivation(), row);
        }
        return out;
    }

    /** Applies {@code activation} to one row of logits in place; softmax subtracts the row maximum first. */
    static void applyOutputActivation(OutputActivation activation, double[] row) {
        switch (activation) {
            case IDENTITY -> { }
            case SIGMOID -> {
                for (int j = 0; j < row.length; j++) {
                    row[j] = 1 / (1 + Math.exp(-row[j]));
                }
            }
            case SOFTMAX -> {
                double max = Double.NEGATIVE_INFINITY;
                for (double v : row) {
                    max = Math.max(max, v);
                }
                double sum = 0;
                for (int j = 0; j < row.length; j++) {
                    row[j] = Math.exp(row[j] - max);
                    sum += row[j];
                }
                for (int j = 0; j < row.length; j++) {
                    row[j] /= sum;
                }
            }
            default -> throw new IllegalStateException("unhandled output activation " + activation);
        }
    }

    /** Checks the batch shape and quantizes every feature; NaN has no quantized value and is rejected. */
    static int[] quantizeInput(IntegerModel model, float[] features, int rows) {
        if (features == null || rows < 0 || (long) rows * model.inputs() != features.length) {
            throw new IllegalArgumentException("features: " + (features == null ? "null" : features.length + " values")
                    + " for " + rows + " rows; expected rows >= 0 and rows · " + model.inputs() + " values, row-major");
        }
        int[] q = new int[features.length];
        ActivationQuant in = model.input();
        for (int k = 0; k < q.length; k++) {
            if (Float.isNaN(features[k])) {
                throw new IllegalArgumentException("features: NaN at row " + k / model.inputs() + ", column "
                        + k % model.inputs() + "; expected numbers");
            }
            q[k] = in.quantize(features[k]);
        }
        return q;
    }

    private int[] quantizeInput(float[] features, int rows) {
        return quantizeInput(model, features, rows);
    }

    /** An array length for a batch buffer; a product past int range is a batch too large for one call. */
    static int cells(long a, long b) {
        long n = a * b;
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("batch: a buffer of " + a + " × " + b + " values; expected at most "
                    + (Integer.MAX_VALUE - 8) + ", split the batch");
        }
        return (int) n;
    }

    static double[][] toRows(double[] flat, int rows, int cols) {
        double[][] out = new double[rows][];
        for (int r = 0; r < rows; r++) {
            out[r] = Arrays.copyOfRange(flat, r * cols, (r + 1) * cols);
        }
        return out;
    }

    /** One layer over a whole batch of flat uint8 rows. */
    private interface Stage {
        /** Hidden layer: uint8 in, uint8 out. */
        int[] forward(int[] in, int rows);

        /** Last layer: uint8 in, dequantized accumulators out. */
        default double[] logits(int[] in, int rows) {
            throw new IllegalStateException("not a last layer");
        }

        /** The quantization of what {@link #forward} writes, given what it reads. */
        ActivationQuant outputQuant(ActivationQuant in);
    }

    /**
     * Shared by dense and conv: per-output-channel requantization or dequantization of int32 accumulators laid out
     * {@code [row][channel][spatial]}.
     */
    private abstract static class AffineStage implements Stage {
        final int channels;
        final int spatial;
        final int zeroIn;
        final int[] bias;
        final int[] weights;
        final ActivationQuant output;
        final int[] mantissa;
        final int[] shift;
        final int zeroOut;
        final int lowest;
        final double[] dequant;

        AffineStage(int channels, int spatial, ActivationQuant input, byte[] weights, float[] weightScales,
                    int[] bias, ActivationQuant output, HiddenActivation activation) {
            this.channels = channels;
            this.spatial = spatial;
            this.zeroIn = input.zeroPoint();
            this.bias = bias.clone();
            this.weights = new int[weights.length];
            for (int k = 0; k < weights.length; k++) {
                this.weights[k] = weights[k];
            }
            this.output = output;
            this.mantissa = new int[channels];
            this.shift = new int[channels];
            this.dequant = new double[channels];
            for (int o = 0; o < channels; o++) {
                double accScale = (double) input.scale() * weightScales[o];
                dequant[o] = accScale;
                if (output != null) {
                    FixedPointMultiplier m = FixedPointMultiplier.of(accScale / output.scale());
                    mantissa[o] = m.multiplier();
                    shift[o] = m.shift();
                }
            }
            this.zeroOut = output == null ? 0 : output.zeroPoint();
            // ReLU fuses into the clamp: real 0 is the code zeroOut.
            this.lowest = activation == HiddenActivation.RELU ? zeroOut : 0;
        }

        abstract int[] accumulate(int[] in, int rows);

        @Override
        public int[] forward(int[] in, int rows) {
            int[] acc = accumulate(in, rows);
            int k = 0;
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < channels; o++) {
                    int m = mantissa[o];
                    int s = shift[o];
                    for (int p = 0; p < spatial; p++, k++) {
                        int q = FixedPointMultiplier.apply(acc[k], m, s) + zeroOut;
                        acc[k] = Math.max(lowest, Math.min(UINT8_MAX, q));
                    }
                }
            }
            return acc;
        }

        @Override
        public double[] logits(int[] in, int rows) {
            int[] acc = accumulate(in, rows);
            double[] out = new double[acc.length];
            int k = 0;
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < channels; o++) {
                    double scale = dequant[o];
                    for (int p = 0; p < spatial; p++, k++) {
                        out[k] = acc[k] * scale;
                    }
                }
            }
            return out;
        }

        @Override
        public ActivationQuant outputQuant(ActivationQuant in) {
            return output;
        }
    }

    private static final class DenseStage extends AffineStage {
        private final int nIn;

        DenseStage(IntDense d, ActivationQuant input) {
            super(d.nOut(), 1, input, d.weights(), d.weightScales(), d.bias(), d.output(), d.activation());
            this.nIn = d.nIn();
        }

        @Override
        int[] accumulate(int[] in, int rows) {
            int nOut = channels;
            int[] acc = new int[cells(rows, nOut)];
            int[] x = new int[nIn];
            for (int r = 0; r < rows; r++) {
                int base = r * nIn;
                for (int i = 0; i < nIn; i++) {
                    x[i] = in[base + i] - zeroIn;
                }
                for (int o = 0; o < nOut; o++) {
                    int w0 = o * nIn;
                    int s = bias[o];
                    for (int i = 0; i < nIn; i++) {
                        s += x[i] * weights[w0 + i];
                    }
                    acc[r * nOut + o] = s;
                }
            }
            return acc;
        }
    }

    /** Convolution as im2col (centered, so pads are 0) then an i-k-j integer GEMM per row. */
    private static final class ConvStage extends AffineStage {
        private final IntConv2d c;
        private final int taps;

        ConvStage(IntConv2d c, ActivationQuant input) {
            super(c.outChannels(), c.outHeight() * c.outWidth(), input, c.weights(), c.weightScales(), c.bias(),
                    c.output(), c.activation());
            this.c = c;
            this.taps = c.inChannels() * c.kernelH() * c.kernelW();
        }

        @Override
        int[] accumulate(int[] in, int rows) {
            int inH = c.inHeight();
            int inW = c.inWidth();
            int outH = c.outHeight();
            int outW = c.outWidth();
            int kH = c.kernelH();
            int kW = c.kernelW();
            int inSize = c.inChannels() * inH * inW;
            int[] col = new int[cells(taps, spatial)];
            int[] acc = new int[cells(rows, (long) channels * spatial)];
            for (int r = 0; r < rows; r++) {
                int rowBase = r * inSize;
                for (int ic = 0, k = 0; ic < c.inChannels(); ic++) {
                    int chBase = rowBase + ic * inH * inW;
                    for (int ky = 0; ky < kH; ky++) {
                        for (int kx = 0; kx < kW; kx++, k++) {
                            int colBase = k * spatial;
                            for (int oy = 0; oy < outH; oy++) {
                                int iy = oy * c.strideH() - c.padTop() + ky;
                                int dst = colBase + oy * outW;
                                if (iy < 0 || iy >= inH) {
                                    Arrays.fill(col, dst, dst + outW, 0);
                                    continue;
                                }
                                int src = chBase + iy * inW;
                                for (int ox = 0; ox < outW; ox++) {
                                    int ix = ox * c.strideW() - c.padLeft() + kx;
                                    col[dst + ox] = ix < 0 || ix >= inW ? 0 : in[src + ix] - zeroIn;
                                }
                            }
                        }
                    }
                }
                int accBase = r * channels * spatial;
                for (int o = 0; o < channels; o++) {
                    int a0 = accBase + o * spatial;
                    Arrays.fill(acc, a0, a0 + spatial, bias[o]);
                    int w0 = o * taps;
                    for (int k = 0; k < taps; k++) {
                        int w = weights[w0 + k];
                        if (w == 0) {
                            continue;
                        }
                        int c0 = k * spatial;
                        for (int p = 0; p < spatial; p++) {
                            acc[a0 + p] += w * col[c0 + p];
                        }
                    }
                }
            }
            return acc;
        }
    }

    private static final class PoolStage implements Stage {
        private final IntMaxPool2d p;

        PoolStage(IntMaxPool2d p) {
            this.p = p;
        }

        @Override
        public int[] forward(int[] in, int rows) {
            int inH = p.inHeight();
            int inW = p.inWidth();
            int outH = p.outHeight();
            int outW = p.outWidth();
            int[] out = new int[cells(rows, (long) p.channels() * outH * outW)];
            int k = 0;
            for (int rc = 0; rc < rows * p.channels(); rc++) {
                int base = rc * inH * inW;
                for (int oy = 0; oy < outH; oy++) {
                    int y0 = Math.max(0, oy * p.strideH() - p.padTop());
                    int y1 = Math.min(inH, oy * p.strideH() - p.padTop() + p.kernelH());
                    for (int ox = 0; ox < outW; ox++, k++) {
                        int x0 = Math.max(0, ox * p.strideW() - p.padLeft());
                        int x1 = Math.min(inW, ox * p.strideW() - p.padLeft() + p.kernelW());
                        int max = 0;
                        for (int y = y0; y < y1; y++) {
                            for (int x = x0; x < x1; x++) {
                                max = Math.max(max, in[base + y * inW + x]);
                            }
                        }
                        out[k] = max;
                    }
                }
            }
            return out;
        }

        @Override
        public ActivationQuant outputQuant(ActivationQuant in) {
            return in;
        }
    }

    /** Validation of one layer, with messages that name it. */
    private record Check(int index, IntLayer layer) {
        IllegalArgumentException fail(String what) {
            return new IllegalArgumentException("layer " + index + " (" + layer.getClass().getSimpleName() + "): "
                    + what);
        }

        void positive(String name, int value) {
            if (value < 1) {
                throw fail(name + " " + value + "; expected at least 1");
            }
        }

        long size(int channels, int height, int width) {
            long n = (long) channels * height * width;
            if (n > Integer.MAX_VALUE) {
                throw fail("shape " + channels + "×" + height + "×" + width + " has " + n + " values; expected at most "
                        + Integer.MAX_VALUE);
            }
            return n;
        }

        void chains(long inputSize, long previous, String from) {
            if (inputSize != previous) {
                throw fail("inputSize " + inputSize + "; expected " + previous + ", " + from);
            }
        }

        void inputQuant(ActivationQuant declared, ActivationQuant actual) {
            if (!actual.equals(declared)) {
                throw fail("input quantization " + declared + "; expected " + actual
                        + ", the quantization of the values it reads");
            }
        }

        void window(int inH, int inW, int outH, int outW, int kH, int kW, int sH, int sW,
                    int padTop, int padLeft, int padBottom, int padRight, boolean pooling) {
            positive("inHeight", inH);
            positive("inWidth", inW);
            positive("outHeight", outH);
            positive("outWidth", outW);
            positive("kernelH", kH);
            positive("kernelW", kW);
            positive("strideH", sH);
            positive("strideW", sW);
            if (padTop < 0 || padLeft < 0 || padBottom < 0 || padRight < 0) {
                throw fail("pads " + padTop + "," + padLeft + "," + padBottom + "," + padRight
                        + " (top, left, bottom, right); expected pads >= 0");
            }
            if (pooling && (padTop >= kH || padBottom >= kH || padLeft >= kW || padRight >= kW)) {
                throw fail("pads " + padTop + "," + padLeft + "," + padBottom + "," + padRight + " with kernel " + kH
                        + "×" + kW + "; expected every pad smaller than the kernel, so no window is all padding");
            }
            long expectH = extent(inH, padTop, padBottom, kH, sH);
            long expectW = extent(inW, padLeft, padRight, kW, sW);
            if (outH != expectH || outW != expectW) {
                throw fail("output " + outH + "×" + outW + "; expected " + expectH + "×" + expectW
                        + ", (in + pads − kernel) / stride + 1");
            }
        }

        private static long extent(int in, int padBefore, int padAfter, int k, int stride) {
            long span = (long) in + padBefore + padAfter - k;
            return span < 0 ? 0 : span / stride + 1;
        }

        void weights(int bits, byte[] weights, long expected, String shape, float[] scales, int[] bias, int channels) {
            if (bits < 2 || bits > 8) {
                throw fail("bits " + bits + "; expected 2..8");
            }
            if (weights == null || weights.length != expected) {
                throw fail((weights == null ? "null weights" : weights.length + " weights") + "; expected " + expected
                        + " (" + shape + ")");
            }
            if (scales == null || scales.length != channels) {
                throw fail((scales == null ? "null weight scales" : scales.length + " weight scales") + "; expected "
                        + channels + ", one per output channel");
            }
            if (bias == null || bias.length != channels) {
                throw fail((bias == null ? "null bias" : bias.length + " biases") + "; expected " + channels
                        + ", one per output channel");
            }
            int qmax = (1 << (bits - 1)) - 1;
            int perChannel = (int) (expected / channels);
            for (int o = 0; o < channels; o++) {
                if (!(scales[o] > 0) || !Float.isFinite(scales[o])) {
                    throw fail("weight scale " + scales[o] + " for channel " + o + "; expected a finite scale > 0");
                }
                long worst = Math.abs((long) bias[o]);
                for (int k = o * perChannel; k < (o + 1) * perChannel; k++) {
                    if (weights[k] < -qmax || weights[k] > qmax) {
                        throw fail("weight " + weights[k] + " at index " + k + "; expected within ±" + qmax + " for "
                                + bits + " bits");
                    }
                    worst += (long) UINT8_MAX * Math.abs(weights[k]);
                }
                if (worst > Integer.MAX_VALUE) {
                    throw fail("channel " + o + " can accumulate |bias| + 255 · Σ|w| = " + worst
                            + "; expected at most " + Integer.MAX_VALUE + " so int32 sums are exact");
                }
            }
        }

        void outputQuant(ActivationQuant output, HiddenActivation activation, boolean isLast) {
            if (isLast && output != null) {
                throw fail("is the last layer but has output quantization " + output
                        + "; expected null, the last layer's accumulators give float logits");
            }
            if (isLast && activation == HiddenActivation.RELU) {
                throw fail("is the last layer with activation RELU; expected IDENTITY or null, the last layer's "
                        + "nonlinearity is the model's output activation");
            }
            if (!isLast && output == null) {
                throw fail("has no output quantization but is not the last layer; expected an ActivationQuant");
            }
            if (!isLast && activation == null) {
                throw fail("has no activation; expected RELU or IDENTITY for a hidden layer");
            }
        }
    }
}
