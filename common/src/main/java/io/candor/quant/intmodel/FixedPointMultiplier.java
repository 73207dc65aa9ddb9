package io.candor.quant.intmodel;

/**
 * A non-negative real multiplier {@code M} as an int32 mantissa and a power-of-two exponent,
 * {@code M ≈ multiplier · 2^(shift − 31)}, so that an int32 accumulator is rescaled without floating point: the
 * requantization of Jacob et al. 2018 ("Quantization and Training of Neural Networks for Efficient
 * Integer-Arithmetic-Only Inference", §2.2), with the mantissa/shift representation of gemmlowp and TensorFlow Lite
 * ({@code QuantizeMultiplier}).
 *
 * <p><b>Rounding: one rounding, to nearest, ties toward +∞.</b> {@link #apply} computes
 * {@code floor((acc · multiplier + 2^(n−1)) / 2^n)} with {@code n = 31 − shift} exactly in int64 ({@code |acc ·
 * multiplier| < 2^62}) and saturates to int32; this is TensorFlow Lite's {@code TFLITE_SINGLE_ROUNDING} form of
 * {@code MultiplyByQuantizedMultiplier}. It is not gemmlowp's default two-step {@code RoundingDivideByPOT(
 * SaturatingRoundingDoublingHighMul(acc, m), −shift)}: that rounds twice, and for the small accumulators of 4-bit
 * layers (where the intermediate keeps only a few fractional bits) it moved about 3% of hidden codes one step away
 * from the float QDQ reading. With one rounding the result is {@code round(acc · real())} exactly, and differs from
 * {@code round(acc · M)} (half to even, as {@code QuantizeLinear}) only at exact ties or where {@code acc · M} lies
 * within {@code |acc| · |M − real()| <= |acc · M| · 2^−31} of a tie: then by one.
 *
 * <p>Invariants: {@code multiplier == 0 && shift == 0} (the zero multiplier), or {@code multiplier} in
 * {@code [2^30, 2^31)} and {@code shift} in {@code [−31, 32]}. A multiplier below {@code 2^−32} is the zero
 * multiplier: {@code |acc · M| < 2^31 · 2^−32 = 1/2} rounds to 0 for every int32 {@code acc}. A multiplier of
 * {@code 2^32} or more saturates every nonzero accumulator, so the shift stops at 32.
 */
public record FixedPointMultiplier(int multiplier, int shift) {
    private static final long ONE_31 = 1L << 31;
    private static final int MAX_LEFT_SHIFT = 32;
    private static final int MAX_RIGHT_SHIFT = 31;

    public FixedPointMultiplier {
        boolean zero = multiplier == 0 && shift == 0;
        boolean normal = multiplier >= (1 << 30) && shift >= -MAX_RIGHT_SHIFT && shift <= MAX_LEFT_SHIFT;
        if (!zero && !normal) {
            throw new IllegalArgumentException("fixed-point multiplier: mantissa " + multiplier + ", shift " + shift
                    + "; expected mantissa in [2^30, 2^31) and shift in [-31, 32], or both 0");
        }
    }

    /** The zero multiplier: every accumulator maps to 0. */
    public static final FixedPointMultiplier ZERO = new FixedPointMultiplier(0, 0);

    /**
     * The nearest representation of {@code real}: mantissa {@code round(q · 2^31)} (ties up) for
     * {@code real = q · 2^e}, {@code q} in [1/2, 1).
     *
     * @throws IllegalArgumentException if {@code real} is negative, NaN or infinite
     */
    public static FixedPointMultiplier of(double real) {
        if (!(real >= 0) || !Double.isFinite(real)) {
            throw new IllegalArgumentException("multiplier: " + real + "; expected a finite real >= 0");
        }
        if (real == 0) {
            return ZERO;
        }
        // Subnormals report exponent −1023, far below the zero threshold, so scalb never sees them.
        int e = Math.getExponent(real) + 1;
        if (e < -MAX_RIGHT_SHIFT) {
            return ZERO;
        }
        long m = Math.round(Math.scalb(real, -e) * ONE_31);
        if (m == ONE_31) {
            m >>= 1;
            e++;
        }
        return new FixedPointMultiplier((int) m, Math.min(e, MAX_LEFT_SHIFT));
    }

    /** The real value represented, {@code multiplier · 2^(shift − 31)}. */
    public double real() {
        return Math.scalb((double) multiplier, shift - 31);
    }

    /** {@code acc · M} rounded as the class doc states. */
    public int apply(int acc) {
        return apply(acc, multiplier, shift);
    }

    /** {@link #apply(int)} on unpacked fields, for loops that keep mantissas and shifts in arrays. */
    public static int apply(int acc, int multiplier, int shift) {
        long p = (long) acc * multiplier;
        int n = 31 - shift;
        long v = n > 0 ? (p + (1L << (n - 1))) >> n : p << -n;
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v));
    }
}
