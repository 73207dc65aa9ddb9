package io.candor.quant;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

/**
 * Affine quantization parameters {@code real = scale · (q − zeroPoint)} with {@code q} an integer in
 * {@code [qmin, qmax]}, one (scale, zero point) per channel; a per-tensor scheme has one channel (Jacob et al. 2018,
 * "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference", §2; Krishnamoorthi
 * 2018, "Quantizing deep convolutional networks for efficient inference: A whitepaper").
 *
 * <p>Two schemes, as in the QAT design:
 * <ul>
 *   <li>{@link #symmetricPerChannel weights}: symmetric, zero point 0, one scale per output channel
 *       {@code scale_c = max|w_c| / qmax} with {@code qmax = 2^(bits−1) − 1}. The integer range is the restricted
 *       {@code [−qmax, qmax]}, not {@code [−qmax − 1, qmax]}: it is symmetric, so {@code w} and {@code −w} quantize
 *       to opposite integers, the largest weight maps exactly to ±qmax, and an int8 × int8 product never needs
 *       {@code (−128)²} (the convention of TensorFlow Lite's 8-bit quantization specification for weights).</li>
 *   <li>{@link #asymmetricUint8 activations}: asymmetric, per tensor, unsigned 8 bits {@code [0, 255]} from a
 *       calibrated {@code (min, max)}. The range is first widened to contain 0, and the zero point is an integer, so
 *       real 0 is exactly representable: zero padding and ReLU's zeros then carry no quantization error, which
 *       Jacob et al. (§2.1) require.</li>
 * </ul>
 *
 * <p><b>Rounding</b> is round-half-to-even ({@link Math#rint}) everywhere, the rounding ONNX {@code QuantizeLinear}
 * and PyTorch's fake-quant use, so an exported QDQ model breaks ties the same way as this simulation.
 *
 * <p><b>Degenerate ranges.</b> A scale is never below {@link #MIN_SCALE} = 2^−23 (float32's machine epsilon, the
 * floor PyTorch's observers use). An all-zero weight channel or an activation range {@code [0, 0]} would otherwise
 * get scale 0 and a division by zero; with the floor its values still quantize to 0 exactly and {@code 1/scale}
 * stays finite in float32. For a channel with {@code max|w| ≥ qmax · MIN_SCALE} the floor changes nothing.
 *
 * <p>Immutable; arrays are copied in and out.
 */
public final class QuantParams {
    /** The smallest scale any scheme produces. */
    public static final double MIN_SCALE = 0x1.0p-23;
    /** Lowest weight bit width supported. */
    public static final int MIN_BITS = 2;
    /** Highest weight bit width supported. */
    public static final int MAX_BITS = 8;

    private static final int UINT8_MAX = 255;

    private final double[] scales;
    private final int[] zeroPoints;
    private final int qmin;
    private final int qmax;

    private QuantParams(double[] scales, int[] zeroPoints, int qmin, int qmax) {
        this.scales = scales;
        this.zeroPoints = zeroPoints;
        this.qmin = qmin;
        this.qmax = qmax;
    }

    /** The largest integer of the restricted symmetric range for {@code bits}: {@code 2^(bits−1) − 1}. */
    public static int symmetricQmax(int bits) {
        if (bits < MIN_BITS || bits > MAX_BITS) {
            throw new IllegalArgumentException("bits: " + bits + " is outside " + MIN_BITS + ".." + MAX_BITS
                    + "; expected a weight bit width in that range");
        }
        return (1 << (bits - 1)) - 1;
    }

    /**
     * Symmetric per-output-channel weight parameters: zero point 0, {@code scale_c = max(max|w_c| / qmax, MIN_SCALE)},
     * integers in {@code [−qmax, qmax]}.
     *
     * @param weights DL4J weights, {@code [nIn, nOut]} for {@link ChannelAxis#DENSE}, {@code [nOut, nIn, kH, kW]}
     *     for {@link ChannelAxis#CONV2D}
     * @throws IllegalArgumentException if {@code bits} is outside [2, 8], the rank does not match {@code axis}, or a
     *     weight is not finite
     */
    public static QuantParams symmetricPerChannel(INDArray weights, ChannelAxis axis, int bits) {
        int qmax = symmetricQmax(bits);
        double[][] channels = Channels.rows(weights, axis);
        double[] scales = new double[channels.length];
        for (int c = 0; c < channels.length; c++) {
            double maxAbs = 0;
            for (double w : channels[c]) {
                if (!Double.isFinite(w)) {
                    throw new IllegalArgumentException("weights: channel " + c + " holds " + w
                            + "; expected finite weights");
                }
                maxAbs = Math.max(maxAbs, Math.abs(w));
            }
            scales[c] = Math.max(maxAbs / qmax, MIN_SCALE);
        }
        return new QuantParams(scales, new int[channels.length], -qmax, qmax);
    }

    /**
     * Asymmetric per-tensor unsigned 8-bit activation parameters from a calibrated range. The range is widened to
     * {@code [min(min, 0), max(max, 0)]}; then {@code scale = max((max − min) / 255, MIN_SCALE)} and
     * {@code zeroPoint = rint(−min / scale)} clamped to [0, 255]. The representable range
     * {@code [−zeroPoint · scale, (255 − zeroPoint) · scale]} ({@link #rangeMin}, {@link #rangeMax}) is the widened
     * range moved by less than {@code scale / 2} so that 0 falls on an integer ("nudged").
     *
     * @throws IllegalArgumentException if a bound is not finite or {@code min > max}
     */
    public static QuantParams asymmetricUint8(double min, double max) {
        if (!Double.isFinite(min) || !Double.isFinite(max) || min > max) {
            throw new IllegalArgumentException("activation range: [" + min + ", " + max
                    + "] is not a range; expected finite min <= max");
        }
        double lo = Math.min(min, 0);
        double hi = Math.max(max, 0);
        double scale = Math.max((hi - lo) / UINT8_MAX, MIN_SCALE);
        int zeroPoint = (int) Math.max(0, Math.min(UINT8_MAX, Math.rint(-lo / scale)));
        return new QuantParams(new double[] {scale}, new int[] {zeroPoint}, 0, UINT8_MAX);
    }

    /** Number of channels: the output channels of a per-channel scheme, 1 for a per-tensor one. */
    public int channels() {
        return scales.length;
    }

    /** The scale of channel {@code c}. */
    public double scale(int c) {
        return scales[c];
    }

    /** The zero point of channel {@code c}. */
    public int zeroPoint(int c) {
        return zeroPoints[c];
    }

    /** All scales, one per channel. */
    public double[] scales() {
        return scales.clone();
    }

    /** The smallest integer. */
    public int qmin() {
        return qmin;
    }

    /** The largest integer. */
    public int qmax() {
        return qmax;
    }

    /** The smallest real value channel {@code c} represents, the lower clipping bound. */
    public double rangeMin(int c) {
        return dequantize(qmin, c);
    }

    /** The largest real value channel {@code c} represents, the upper clipping bound. */
    public double rangeMax(int c) {
        return dequantize(qmax, c);
    }

    /**
     * {@code clamp(rint(x / scale) + zeroPoint, qmin, qmax)} for channel {@code c}; ±infinity clamps to the range end.
     *
     * @throws IllegalArgumentException if {@code x} is NaN, which has no integer
     */
    public int quantize(double x, int c) {
        if (Double.isNaN(x)) {
            throw new IllegalArgumentException("value: NaN in channel " + c + "; expected a number to quantize");
        }
        double q = Math.rint(x / scales[c]) + zeroPoints[c];
        return (int) Math.max(qmin, Math.min(qmax, q));
    }

    /** {@code scale · (q − zeroPoint)} for channel {@code c}. */
    public double dequantize(int q, int c) {
        return scales[c] * (q - zeroPoints[c]);
    }

    /**
     * Quantize then dequantize: the value the integer model will see. Inside {@code [rangeMin(c), rangeMax(c)]} it is
     * within {@code scale / 2} of {@code x}; outside it is the nearer range end.
     */
    public double fakeQuant(double x, int c) {
        return dequantize(quantize(x, c), c);
    }

    @Override
    public String toString() {
        return "QuantParams[scales=" + Arrays.toString(scales) + ", zeroPoints=" + Arrays.toString(zeroPoints)
                + ", q in [" + qmin + ", " + qmax + "]]";
    }
}
