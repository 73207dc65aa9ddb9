package io.candor.quant.intmodel;

import java.util.List;

/**
 * The float reading of an {@link IntegerModel}, as an ONNX QDQ graph ({@code QuantizeLinear} /
 * {@code DequantizeLinear} around float {@code Gemm}, {@code Conv}, {@code Relu}, {@code MaxPool}) computes it:
 * dequantize the input codes, real weights {@code w · weightScale_o}, real bias
 * {@code bias_o · input.scale · weightScale_o}, the layer in double, the activation, then
 * {@link ActivationQuant#quantize} for hidden layers; the last layer's values are the logits, then the model's
 * {@link OutputActivation}.
 *
 * <p>Deliberately plain (one row at a time, direct loops, no shared kernels with {@link IntegerInference}) so that it
 * serves as the reference the integer engine is tested against. Hidden codes may differ from the integer engine's by
 * one step where {@code acc · M} is within rounding error of a tie; see {@link FixedPointMultiplier}.
 */
public final class QdqReference {
    private QdqReference() {
    }

    /** As {@link IntegerInference#outputs}, in floating point. */
    public static double[][] outputs(IntegerModel model, float[] features, int rows) {
        double[][] out = logits(model, features, rows);
        for (double[] row : out) {
            PreparedIntegerModel.applyOutputActivation(model.outputActivation(), row);
        }
        return out;
    }

    /** As {@link IntegerInference#logits}, in floating point. */
    public static double[][] logits(IntegerModel model, float[] features, int rows) {
        PreparedIntegerModel.of(model);
        int[] codes = PreparedIntegerModel.quantizeInput(model, features, rows);
        double[][] out = new double[rows][];
        for (int r = 0; r < rows; r++) {
            ActivationQuant quant = model.input();
            double[] x = new double[model.inputs()];
            for (int i = 0; i < x.length; i++) {
                x[i] = quant.dequantize(codes[r * model.inputs() + i]);
            }
            List<IntLayer> layers = model.layers();
            for (int l = 0; l < layers.size(); l++) {
                boolean last = l == layers.size() - 1;
                IntLayer layer = layers.get(l);
                if (layer instanceof IntDense d) {
                    x = dense(d, x);
                    if (!last) {
                        x = requantize(x, d.output(), d.activation());
                        quant = d.output();
                    }
                } else if (layer instanceof IntConv2d c) {
                    x = conv(c, x);
                    if (!last) {
                        x = requantize(x, c.output(), c.activation());
                        quant = c.output();
                    }
                } else {
                    x = maxPool((IntMaxPool2d) layer, x, quant);
                }
            }
            out[r] = x;
        }
        return out;
    }

    /** One hidden layer on one row of codes, for tests that compare single layers. */
    static int[] hiddenLayer(IntLayer layer, ActivationQuant input, int[] codes) {
        double[] x = new double[codes.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = input.dequantize(codes[i]);
        }
        double[] y;
        ActivationQuant out = input;
        if (layer instanceof IntDense d) {
            y = requantize(dense(d, x), d.output(), d.activation());
            out = d.output();
        } else if (layer instanceof IntConv2d c) {
            y = requantize(conv(c, x), c.output(), c.activation());
            out = c.output();
        } else {
            y = maxPool((IntMaxPool2d) layer, x, input);
        }
        int[] q = new int[y.length];
        for (int i = 0; i < q.length; i++) {
            q[i] = out.quantize(y[i]);
        }
        return q;
    }

    private static double[] dense(IntDense d, double[] x) {
        double[] y = new double[d.nOut()];
        for (int o = 0; o < d.nOut(); o++) {
            double ws = d.weightScales()[o];
            double sum = d.bias()[o] * (double) d.input().scale() * ws;
            for (int i = 0; i < d.nIn(); i++) {
                sum += x[i] * (d.weights()[o * d.nIn() + i] * ws);
            }
            y[o] = sum;
        }
        return y;
    }

    private static double[] conv(IntConv2d c, double[] x) {
        double[] y = new double[c.outputSize()];
        for (int o = 0; o < c.outChannels(); o++) {
            double ws = c.weightScales()[o];
            double b = c.bias()[o] * (double) c.input().scale() * ws;
            for (int oy = 0; oy < c.outHeight(); oy++) {
                for (int ox = 0; ox < c.outWidth(); ox++) {
                    double sum = b;
                    for (int ic = 0; ic < c.inChannels(); ic++) {
                        for (int ky = 0; ky < c.kernelH(); ky++) {
                            for (int kx = 0; kx < c.kernelW(); kx++) {
                                int iy = oy * c.strideH() - c.padTop() + ky;
                                int ix = ox * c.strideW() - c.padLeft() + kx;
                                if (iy < 0 || iy >= c.inHeight() || ix < 0 || ix >= c.inWidth()) {
                                    continue;
                                }
                                int w = c.weights()[((o * c.inChannels() + ic) * c.kernelH() + ky) * c.kernelW() + kx];
                                sum += x[(ic * c.inHeight() + iy) * c.inWidth() + ix] * (w * ws);
                            }
                        }
                    }
                    y[(o * c.outHeight() + oy) * c.outWidth() + ox] = sum;
                }
            }
        }
        return y;
    }

    /** Pooling on dequantized values, then QuantizeLinear → DequantizeLinear with the unchanged parameters. */
    private static double[] maxPool(IntMaxPool2d p, double[] x, ActivationQuant quant) {
        double[] y = new double[p.outputSize()];
        for (int c = 0; c < p.channels(); c++) {
            for (int oy = 0; oy < p.outHeight(); oy++) {
                for (int ox = 0; ox < p.outWidth(); ox++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int ky = 0; ky < p.kernelH(); ky++) {
                        for (int kx = 0; kx < p.kernelW(); kx++) {
                            int iy = oy * p.strideH() - p.padTop() + ky;
                            int ix = ox * p.strideW() - p.padLeft() + kx;
                            if (iy >= 0 && iy < p.inHeight() && ix >= 0 && ix < p.inWidth()) {
                                max = Math.max(max, x[(c * p.inHeight() + iy) * p.inWidth() + ix]);
                            }
                        }
                    }
                    y[(c * p.outHeight() + oy) * p.outWidth() + ox] = quant.dequantize(quant.quantize(max));
                }
            }
        }
        return y;
    }

    /** Activation, QuantizeLinear, DequantizeLinear: the real value the next layer reads. */
    private static double[] requantize(double[] y, ActivationQuant out, HiddenActivation activation) {
        double[] z = new double[y.length];
        for (int i = 0; i < y.length; i++) {
            double v = activation == HiddenActivation.RELU ? Math.max(0, y[i]) : y[i];
            z[i] = out.dequantize(out.quantize(v));
        }
        return z;
    }
}
